//! Hash-based routes (`#/backends?q=vault`): the page and its filter live in the URL, so a reload or
//! a shared link lands on the same view. Plain data, parsed and printed without a browser.

/// The pages, in sidebar order; Alt+1…Alt+8 follow this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Overview,
    AccessMap,
    Reviews,
    Credentials,
    Audit,
    Incident,
    Backends,
    Journal,
}

impl Page {
    pub const ALL: [Page; 8] = [
        Page::Overview,
        Page::AccessMap,
        Page::Reviews,
        Page::Credentials,
        Page::Audit,
        Page::Incident,
        Page::Backends,
        Page::Journal,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Page::Overview => "overview",
            Page::AccessMap => "access",
            Page::Reviews => "reviews",
            Page::Credentials => "credentials",
            Page::Audit => "audit",
            Page::Incident => "incident",
            Page::Backends => "backends",
            Page::Journal => "journal",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Page::Overview => "Overview",
            Page::AccessMap => "Access map",
            Page::Reviews => "Reviews",
            Page::Credentials => "Credentials",
            Page::Audit => "Audit",
            Page::Incident => "Incident",
            Page::Backends => "Backends",
            Page::Journal => "Journal",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub page: Page,
    /// The page's filter text (`q=`), empty when none.
    pub query: String,
}

impl Route {
    pub fn new(page: Page) -> Self {
        Route {
            page,
            query: String::new(),
        }
    }

    /// Parses `#/backends?q=text`; anything unknown lands on the Overview.
    pub fn parse(hash: &str) -> Self {
        let path = hash.trim_start_matches('#').trim_start_matches('/');
        let (slug, params) = path.split_once('?').unwrap_or((path, ""));
        let page = Page::ALL
            .into_iter()
            .find(|p| p.slug() == slug)
            .unwrap_or(Page::Overview);
        let query = params
            .split('&')
            .find_map(|kv| kv.strip_prefix("q="))
            .map(decode)
            .unwrap_or_default();
        Route { page, query }
    }

    pub fn href(&self) -> String {
        if self.query.is_empty() {
            format!("#/{}", self.page.slug())
        } else {
            format!("#/{}?q={}", self.page.slug(), encode(&self.query))
        }
    }
}

/// Every `key=value` of the hash's query, decoded, in order: the filters a page keeps in the URL
/// besides `q` (which [`Route`] carries), e.g. `#/credentials?q=alice&status=active`.
pub fn params(hash: &str) -> Vec<(String, String)> {
    let path = hash.trim_start_matches('#');
    let Some((_, query)) = path.split_once('?') else {
        return Vec::new();
    };
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

/// `#/page?k=v&…` for a page and its filters, leaving out empty values so URLs stay short.
pub fn href_with(page: Page, params: &[(&str, String)]) -> String {
    let query: Vec<String> = params
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    if query.is_empty() {
        format!("#/{}", page.slug())
    } else {
        format!("#/{}?{}", page.slug(), query.join("&"))
    }
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) => hex(h).zip(hex(l)).map(|(h, l)| h * 16 + l),
            _ => None,
        };
        match escaped {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print_round_trip() {
        let r = Route::parse("#/backends?q=open%20bao");
        assert_eq!(r.page, Page::Backends);
        assert_eq!(r.query, "open bao");
        assert_eq!(r.href(), "#/backends?q=open%20bao");
        assert_eq!(Route::parse(&r.href()), r);
    }

    #[test]
    fn unknown_or_empty_is_overview() {
        assert_eq!(Route::parse("").page, Page::Overview);
        assert_eq!(Route::parse("#/nope").page, Page::Overview);
        assert_eq!(Route::parse("#/journal").page, Page::Journal);
        assert_eq!(Route::parse("#/audit?q=%").query, "%");
    }

    #[test]
    fn params_round_trip_and_agree_with_the_route() {
        let href = href_with(
            Page::Credentials,
            &[
                ("q", "svc billing".into()),
                ("status", "active".into()),
                ("backend", String::new()),
                ("sort", "expires".into()),
            ],
        );
        assert_eq!(
            href,
            "#/credentials?q=svc%20billing&status=active&sort=expires"
        );
        let p = params(&href);
        assert_eq!(
            p,
            vec![
                ("q".to_string(), "svc billing".to_string()),
                ("status".to_string(), "active".to_string()),
                ("sort".to_string(), "expires".to_string()),
            ]
        );
        assert_eq!(Route::parse(&href).query, "svc billing");
        assert_eq!(Route::parse(&href).page, Page::Credentials);
        assert!(params("#/journal").is_empty());
        assert_eq!(href_with(Page::Journal, &[]), "#/journal");
    }
}
