//! A fault-injecting loopback proxy in front of a real sandbox backend: what the network does to
//! the console on a bad day, made routine and exact. Rules pick requests (HTTP: by method and path
//! prefix; TCP: by connection) and a window of them (`after` n, `times` m), and do one
//! [`Fault`] to each: delay, reset, truncate, stall mid-body, answer 429/500/503 or a redirect to
//! another origin, hold until released, or die (close every connection and the port).
//!
//! Everything else is forwarded one request per upstream connection, and every request that
//! reached the backend is recorded ([`Proxy::reached`]), so "never sent twice" is counted, not
//! assumed. An HTTP answer naming the backend's own origin (OIDC discovery lists its endpoints)
//! is rewritten to name the proxy, as a reverse proxy would, so the console keeps talking
//! through it. The TCP mode (PostgreSQL) relays bytes and knows only connections.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::{HarnessError, Result};

/// What a rule does to the requests (or connections) it picks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Wait this long, then forward.
    Delay(Duration),
    /// Reset the connection before forwarding: the backend never sees the request.
    Reset,
    /// Forward, then reset instead of answering: the backend acted, its answer is lost.
    ResetAfter,
    /// Forward, then send half the answer (half the head if it has no body) and close.
    Truncate,
    /// Forward, send the head and half the body, then hold the connection open, silent, until
    /// released. TCP: accept and relay nothing.
    Stall,
    /// TCP: relay this many bytes of the server's answer, then go silent until released.
    StallAfter(usize),
    /// Answer with this status without forwarding; `retry_after` in seconds.
    Status { code: u16, retry_after: Option<u32> },
    /// Answer `307` to the same path on another origin (`http://host:port`), without forwarding.
    Redirect(String),
    /// Hold the request until released, then forward it.
    Hold,
    /// Close every connection and the port: a backend that went away.
    Die,
}

/// Which requests a fault applies to: those matching method and path prefix, from the
/// `after`-th (0-based) on, `times` of them.
#[derive(Debug)]
pub struct Rule {
    fault: Fault,
    method: Option<String>,
    path: Option<String>,
    after: usize,
    times: usize,
    seen: AtomicUsize,
}

impl Rule {
    /// Every request (or connection), from the first, for ever.
    pub fn new(fault: Fault) -> Rule {
        Rule {
            fault,
            method: None,
            path: None,
            after: 0,
            times: usize::MAX,
            seen: AtomicUsize::new(0),
        }
    }

    /// Only requests whose path (with its query) starts with `prefix`.
    pub fn path(mut self, prefix: &str) -> Rule {
        self.path = Some(prefix.to_string());
        self
    }

    pub fn method(mut self, method: &str) -> Rule {
        self.method = Some(method.to_ascii_uppercase());
        self
    }

    /// Let the first `n` matching requests through unharmed.
    pub fn after(mut self, n: usize) -> Rule {
        self.after = n;
        self
    }

    /// Harm only `n` matching requests.
    pub fn times(mut self, n: usize) -> Rule {
        self.times = n;
        self
    }

    fn matches(&self, req: Option<&Request>) -> bool {
        let Some(req) = req else {
            return self.method.is_none() && self.path.is_none();
        };
        self.method.as_ref().is_none_or(|m| *m == req.method)
            && self.path.as_ref().is_none_or(|p| req.path.starts_with(p))
    }

    /// Counts a matching request; the fault if it falls in the rule's window.
    fn pick(&self) -> Option<Fault> {
        let n = self.seen.fetch_add(1, Ordering::SeqCst);
        (n >= self.after && n - self.after < self.times).then(|| self.fault.clone())
    }
}

/// A request as it arrived (TCP: a connection, with an empty method and path).
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub body: Vec<u8>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Http,
    Tcp,
}

struct State {
    mode: Mode,
    upstream: SocketAddr,
    /// `http://upstream` and `http://proxy`: answers naming the first are rewritten to the second.
    origins: (String, String),
    me: SocketAddr,
    rules: Mutex<Vec<Rule>>,
    arrived: Mutex<Vec<Request>>,
    reached: Mutex<Vec<Request>>,
    held: AtomicUsize,
    released: (Mutex<bool>, Condvar),
    dead: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The proxy; dropping it releases whatever it holds and closes its port.
pub struct Proxy {
    state: Arc<State>,
}

impl Proxy {
    /// An HTTP proxy in front of `upstream` (`http://host:port`).
    pub fn http(upstream: &str) -> Result<Proxy> {
        let hostport = upstream.trim_start_matches("http://").trim_end_matches('/');
        Proxy::start(Mode::Http, hostport)
    }

    /// A TCP relay in front of `host:port` (PostgreSQL).
    pub fn tcp(upstream: &str) -> Result<Proxy> {
        Proxy::start(Mode::Tcp, upstream)
    }

    fn start(mode: Mode, hostport: &str) -> Result<Proxy> {
        let io = |what: &str| {
            let what = format!("{what} for a proxy to {hostport}");
            move |source| HarnessError::Io { what, source }
        };
        let upstream = hostport
            .to_socket_addrs()
            .map_err(io("resolving the upstream"))?
            .next()
            .ok_or_else(|| HarnessError::Failed(format!("{hostport} resolves to nothing")))?;
        let listener = TcpListener::bind("127.0.0.1:0").map_err(io("binding a port"))?;
        let me = listener
            .local_addr()
            .map_err(io("reading the bound port"))?;
        let state = Arc::new(State {
            mode,
            upstream,
            origins: (format!("http://{upstream}"), format!("http://{me}")),
            me,
            rules: Mutex::new(Vec::new()),
            arrived: Mutex::new(Vec::new()),
            reached: Mutex::new(Vec::new()),
            held: AtomicUsize::new(0),
            released: (Mutex::new(false), Condvar::new()),
            dead: AtomicBool::new(false),
        });
        let st = state.clone();
        std::thread::spawn(move || accept_loop(listener, st));
        Ok(Proxy { state })
    }

    pub fn url(&self) -> String {
        self.state.origins.1.clone()
    }

    pub fn addr(&self) -> SocketAddr {
        self.state.me
    }

    /// Adds a rule; rules are tried in the order added, the first whose window holds wins.
    pub fn add(&self, rule: Rule) -> &Proxy {
        lock(&self.state.rules).push(rule);
        self
    }

    /// Forgets every rule (what arrived and reached stays counted).
    pub fn clear(&self) {
        lock(&self.state.rules).clear();
    }

    /// Requests (connections) that arrived at the proxy whose path starts with `prefix`.
    pub fn arrived(&self, prefix: &str) -> usize {
        count(&lock(&self.state.arrived), prefix)
    }

    /// Requests that reached the backend whose path starts with `prefix`.
    pub fn reached(&self, prefix: &str) -> usize {
        count(&lock(&self.state.reached), prefix)
    }

    /// Requests that reached the backend under `prefix`, counted per the key `key` finds in
    /// their body (the accessor revoked, the token sent).
    pub fn reached_by(
        &self,
        prefix: &str,
        key: impl Fn(&[u8]) -> Option<String>,
    ) -> HashMap<String, u32> {
        let mut out = HashMap::new();
        for r in lock(&self.state.reached).iter() {
            if let Some(k) = r.path.starts_with(prefix).then(|| key(&r.body)).flatten() {
                *out.entry(k).or_default() += 1;
            }
        }
        out
    }

    /// How many requests are held (or stalled) right now.
    pub fn held(&self) -> usize {
        self.state.held.load(Ordering::SeqCst)
    }

    /// Lets held requests through, ends stalls, and stops holding.
    pub fn release(&self) {
        lock(&self.state.rules).retain(|r| !matches!(r.fault, Fault::Hold));
        let (flag, cv) = &self.state.released;
        *lock(flag) = true;
        cv.notify_all();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.state.dead.store(true, Ordering::SeqCst);
        self.release();
        let _ = TcpStream::connect(self.state.me); // wakes the accept loop so it ends
    }
}

fn count(list: &[Request], prefix: &str) -> usize {
    list.iter().filter(|r| r.path.starts_with(prefix)).count()
}

/// A key for [`Proxy::reached_by`]: a string field of a JSON body (`accessor`).
pub fn json_field(name: &str) -> impl Fn(&[u8]) -> Option<String> + '_ {
    move |body| {
        let v: serde_json::Value = serde_json::from_slice(body).ok()?;
        v.get(name)?.as_str().map(str::to_string)
    }
}

/// A key for [`Proxy::reached_by`]: a field of a form body (`token`), percent-decoded.
pub fn form_field(name: &str) -> impl Fn(&[u8]) -> Option<String> + '_ {
    move |body| {
        let text = String::from_utf8_lossy(body);
        let (_, v) = text
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)?;
        Some(percent_decode(v))
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn accept_loop(listener: TcpListener, st: Arc<State>) {
    for conn in listener.incoming() {
        if st.dead.load(Ordering::SeqCst) {
            break; // dropping the listener closes the port
        }
        let Ok(conn) = conn else { continue };
        let st = st.clone();
        std::thread::spawn(move || match st.mode {
            Mode::Http => http::handle(conn, &st),
            Mode::Tcp => tcp::handle(conn, &st),
        });
    }
}

impl State {
    /// Records an arrival and picks the fault for it.
    fn arrive(&self, req: Option<&Request>) -> Option<Fault> {
        lock(&self.arrived).push(req.cloned().unwrap_or_default());
        // Every matching rule counts this request, whichever one fires.
        let picked: Vec<Fault> = lock(&self.rules)
            .iter()
            .filter(|r| r.matches(req))
            .filter_map(Rule::pick)
            .collect();
        picked.into_iter().next()
    }

    fn die(&self) {
        self.dead.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.me);
    }

    /// Blocks until released (or the proxy is dropped), counted in `held` meanwhile.
    fn hold(&self) {
        self.held.fetch_add(1, Ordering::SeqCst);
        let (flag, cv) = &self.released;
        let mut released = lock(flag);
        while !*released {
            released = cv.wait(released).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// Closes with a TCP reset rather than a FIN: the peer sees "connection reset", as when a
/// middlebox or a crashing server drops it.
fn reset(conn: &TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt on a socket we own, with a correctly sized, initialised `linger`.
    unsafe {
        libc::setsockopt(
            conn.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            std::ptr::addr_of!(linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
    let _ = conn.shutdown(Shutdown::Both);
}

mod http {
    use super::*;

    pub(super) fn handle(client: TcpStream, st: &State) {
        let Ok(read_half) = client.try_clone() else {
            return;
        };
        let Some((req, head)) = read_request(&mut BufReader::new(read_half)) else {
            return;
        };
        let fault = st.arrive(Some(&req));
        if st.dead.load(Ordering::SeqCst) {
            return;
        }
        let was_held = before_forward(&client, st, &req, fault.as_ref());
        let Some(was_held) = was_held else { return };
        let answer = forward(st, &req, &head);
        if was_held {
            st.held.fetch_sub(1, Ordering::SeqCst);
        }
        let Some(answer) = answer else {
            reset(&client);
            return;
        };
        after_forward(client, st, &answer, fault.as_ref());
    }

    /// Does what happens before the backend is asked; `None` when the request ends here,
    /// else whether it was held.
    fn before_forward(
        client: &TcpStream,
        st: &State,
        req: &Request,
        fault: Option<&Fault>,
    ) -> Option<bool> {
        match fault {
            Some(Fault::Die) => {
                st.die();
                let _ = client.shutdown(Shutdown::Both);
                None
            }
            Some(Fault::Reset) => {
                reset(client);
                None
            }
            Some(Fault::Status { code, retry_after }) => {
                let extra = retry_after.map(|s| format!("Retry-After: {s}\r\n"));
                answer(client, *code, &extra.unwrap_or_default());
                None
            }
            Some(Fault::Redirect(origin)) => {
                answer(client, 307, &format!("Location: {origin}{}\r\n", req.path));
                None
            }
            Some(Fault::Hold) => {
                st.hold();
                Some(true)
            }
            Some(Fault::Delay(d)) => {
                std::thread::sleep(*d); // the fault itself, not a wait for a signal
                Some(false)
            }
            _ => Some(false),
        }
    }

    fn after_forward(mut client: TcpStream, st: &State, answer: &[u8], fault: Option<&Fault>) {
        let body_at = find(answer, b"\r\n\r\n").map_or(answer.len(), |i| i + 4);
        let cut = |mid: usize| answer.get(..mid).unwrap_or(answer);
        match fault {
            Some(Fault::ResetAfter) => reset(&client),
            Some(Fault::Truncate) if body_at == answer.len() => {
                let _ = client.write_all(cut(body_at / 2));
            }
            Some(Fault::Truncate) => {
                let _ = client.write_all(cut(body_at + (answer.len() - body_at) / 2));
            }
            Some(Fault::Stall | Fault::StallAfter(_)) => {
                let upto = match fault {
                    Some(Fault::StallAfter(n)) => *n,
                    _ => body_at + (answer.len() - body_at) / 2,
                };
                let _ = client.write_all(cut(upto));
                let _ = client.flush();
                st.hold();
                st.held.fetch_sub(1, Ordering::SeqCst);
            }
            _ => {
                let _ = client.write_all(answer);
            }
        }
        let _ = client.shutdown(Shutdown::Both);
    }

    /// A bodiless answer of the proxy's own.
    fn answer(mut client: &TcpStream, code: u16, headers: &str) {
        let text = format!(
            "HTTP/1.1 {code} Injected\r\n{headers}Content-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let _ = client.write_all(text.as_bytes());
        let _ = client.shutdown(Shutdown::Both);
    }

    /// One request per upstream connection (`Connection: close`), answer read to the end and
    /// recorded as having reached the backend; the answer normalised for the client.
    fn forward(st: &State, req: &Request, head: &str) -> Option<Vec<u8>> {
        let mut up = TcpStream::connect(st.upstream).ok()?;
        let head: String = head
            .split("\r\n")
            .filter(|l| !l.to_ascii_lowercase().starts_with("connection:") && !l.is_empty())
            .map(|l| format!("{l}\r\n"))
            .collect();
        up.write_all(format!("{head}Connection: close\r\n\r\n").as_bytes())
            .ok()?;
        up.write_all(&req.body).ok()?;
        let mut resp = Vec::new();
        let _ = up.read_to_end(&mut resp);
        lock(&st.reached).push(req.clone());
        normalise(&resp, &st.origins)
    }

    /// The answer with a plain body (de-chunked), the upstream origin replaced by the proxy's
    /// everywhere, an exact `Content-Length` and `Connection: close`.
    fn normalise(resp: &[u8], (from, to): &(String, String)) -> Option<Vec<u8>> {
        let split = find(resp, b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&resp[..split]).replace(from, to);
        let raw = &resp[split + 4..];
        let mut lines = head.split("\r\n");
        let status = lines.next()?.to_string();
        let headers: Vec<&str> = lines.collect();
        let chunked = headers.iter().any(|h| {
            let h = h.to_ascii_lowercase();
            h.starts_with("transfer-encoding:") && h.contains("chunked")
        });
        let body = if chunked { dechunk(raw)? } else { raw.to_vec() };
        let body = replace(&body, from.as_bytes(), to.as_bytes());
        let mut out = format!("{status}\r\n");
        for h in headers {
            let lower = h.to_ascii_lowercase();
            let drop = ["content-length:", "transfer-encoding:", "connection:"];
            if !drop.iter().any(|d| lower.starts_with(d)) {
                out.push_str(h);
                out.push_str("\r\n");
            }
        }
        out.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        ));
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&body);
        Some(bytes)
    }

    fn dechunk(mut raw: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            let eol = find(raw, b"\r\n")?;
            let size_text = std::str::from_utf8(&raw[..eol]).ok()?;
            let size_text = size_text.split(';').next()?.trim();
            let size = usize::from_str_radix(size_text, 16).ok()?;
            raw = &raw[eol + 2..];
            if size == 0 {
                return Some(out);
            }
            out.extend_from_slice(raw.get(..size)?);
            raw = raw.get(size + 2..)?;
        }
    }

    fn replace(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(hay.len());
        let mut rest = hay;
        while let Some(i) = find(rest, from) {
            out.extend_from_slice(&rest[..i]);
            out.extend_from_slice(to);
            rest = &rest[i + from.len()..];
        }
        out.extend_from_slice(rest);
        out
    }

    pub(super) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
        hay.windows(needle.len()).position(|w| w == needle)
    }

    /// Reads one request: (method, path, body) and its head without the blank line.
    fn read_request(r: &mut BufReader<TcpStream>) -> Option<(Request, String)> {
        let mut head = String::new();
        loop {
            let mut line = Vec::new();
            if r.read_until(b'\n', &mut line).ok()? == 0 {
                return None;
            }
            if line == b"\r\n" {
                break;
            }
            head.push_str(&String::from_utf8_lossy(&line));
        }
        let mut words = head.split_whitespace();
        let (method, path) = (words.next()?.to_string(), words.next()?.to_string());
        let len = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse::<usize>().ok())?
            })
            .unwrap_or(0);
        let mut body = vec![0; len];
        r.read_exact(&mut body).ok()?;
        Some((Request { method, path, body }, head))
    }
}

mod tcp {
    use super::*;

    pub(super) fn handle(client: TcpStream, st: &State) {
        let fault = st.arrive(None);
        let budget = match fault {
            Some(Fault::Die) => {
                st.die();
                return;
            }
            Some(Fault::Reset) => return reset(&client),
            Some(Fault::Stall) => Some(0),
            Some(Fault::StallAfter(n)) => Some(n),
            Some(Fault::Hold) => {
                st.hold();
                st.held.fetch_sub(1, Ordering::SeqCst);
                None
            }
            Some(Fault::Delay(d)) => {
                std::thread::sleep(d); // the fault itself, not a wait for a signal
                None
            }
            _ => None,
        };
        let Ok(up) = TcpStream::connect(st.upstream) else {
            return reset(&client);
        };
        lock(&st.reached).push(Request::default());
        relay(client, up, budget, st);
    }

    /// Copies both ways; the server's answer only up to `budget` bytes, then silence until
    /// released.
    fn relay(client: TcpStream, up: TcpStream, budget: Option<usize>, st: &State) {
        let (Ok(mut c_in), Ok(mut u_out)) = (client.try_clone(), up.try_clone()) else {
            return;
        };
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut c_in, &mut u_out);
            let _ = u_out.shutdown(Shutdown::Write);
        });
        let (mut up, mut client) = (up, client);
        let mut left = budget.unwrap_or(usize::MAX);
        let mut buf = [0u8; 8192];
        while let Ok(n @ 1..) = up.read(&mut buf) {
            let pass = n.min(left);
            if client.write_all(&buf[..pass]).is_err() {
                break;
            }
            left -= pass;
            if left == 0 {
                st.hold();
                st.held.fetch_sub(1, Ordering::SeqCst);
                break;
            }
        }
        let _ = client.shutdown(Shutdown::Both);
        let _ = up.shutdown(Shutdown::Both);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_pick_their_window_only() {
        let r = Rule::new(Fault::Reset).after(1).times(2);
        let picked: Vec<bool> = (0..5).map(|_| r.pick().is_some()).collect();
        assert_eq!(picked, [false, true, true, false, false]);
    }

    #[test]
    fn form_fields_are_decoded() {
        let key = form_field("token");
        assert_eq!(key(b"a=1&token=x%2By+z").as_deref(), Some("x+y z"));
        assert_eq!(
            json_field("accessor")(br#"{"accessor":"a"}"#).as_deref(),
            Some("a")
        );
    }
}
