//! The "Add backend" dialog: the form, its validation, and the hint of what credential each kind
//! needs. A keychain secret lives in this component's state only until it is submitted.

use portcullis_model::{BackendInfo, BackendKind, ErrorCode, IpcError, NewBackend, NewCredential};
use wasm_bindgen::JsCast;
use yew::prelude::*;

use super::{Dialog, ErrorNote};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Keychain,
    Env,
    None,
}

/// The form as typed.
#[derive(Debug, Clone, PartialEq)]
pub struct Form {
    pub name: String,
    pub kind: BackendKind,
    pub url: String,
    pub source: Source,
    pub secret: String,
    pub env_var: String,
    /// Optional local audit log file (usage data the backend's API does not serve).
    pub audit_log: String,
}

impl Default for Form {
    fn default() -> Self {
        Form {
            name: String::new(),
            kind: BackendKind::Vault,
            url: String::new(),
            source: Source::Keychain,
            secret: String::new(),
            env_var: String::new(),
            audit_log: String::new(),
        }
    }
}

/// One message per field that is wrong.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldErrors {
    pub name: Option<String>,
    pub url: Option<String>,
    pub secret: Option<String>,
    pub env_var: Option<String>,
    pub audit_log: Option<String>,
}

impl FieldErrors {
    fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.url.is_none()
            && self.secret.is_none()
            && self.env_var.is_none()
            && self.audit_log.is_none()
    }
}

/// An example URL for each kind, as a placeholder.
pub fn url_example(kind: BackendKind) -> &'static str {
    match kind {
        BackendKind::Oauth2 => "https://CLIENT_ID@auth.example.com/",
        BackendKind::Vault => "http://127.0.0.1:8200",
        BackendKind::Postgres => "postgres://portcullis@127.0.0.1:5432/app",
        BackendKind::Keycloak => "https://CLIENT_ID@keycloak.example.com/realms/main",
        BackendKind::Kong => "http://127.0.0.1:8001",
        BackendKind::Kubernetes => "https://kubernetes.example.com:6443",
        BackendKind::GitLab => "https://gitlab.example.com",
        BackendKind::AwsIam => "https://AKIA…@iam.amazonaws.com/",
        BackendKind::Hoop => "https://use.hoop.dev",
        BackendKind::GitHub => "https://api.github.com/orgs/ORG",
    }
}

/// An example audit log path for each kind, as a placeholder.
pub fn audit_example(kind: BackendKind) -> &'static str {
    match kind {
        BackendKind::Vault => "/var/log/openbao/audit.log",
        BackendKind::Oauth2 => "/var/log/oidc/events.jsonl",
        BackendKind::Postgres => "/var/lib/postgresql/15/main/log/postgresql.json",
        _ => "/var/log/…",
    }
}

/// Checks the form and builds the request, or says what to fix in each field.
pub fn validate(form: &Form) -> Result<NewBackend, FieldErrors> {
    let mut errors = FieldErrors::default();
    let name = form.name.trim();
    if name.is_empty() {
        errors.name = Some("Give the backend a name, e.g. prod-openbao.".into());
    } else if name.chars().count() > 64 {
        errors.name = Some("Keep the name to 64 characters or fewer.".into());
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        || !name.starts_with(|c: char| c.is_ascii_alphanumeric())
    {
        errors.name =
            Some("Use letters, digits, '-', '_' or '.', starting with a letter or digit.".into());
    }

    let url = form.url.trim();
    let schemes: &[&str] = match form.kind {
        BackendKind::Postgres => &["postgres://", "postgresql://"],
        _ => &["https://", "http://"],
    };
    if url.is_empty() {
        errors.url = Some(format!("Enter the URL, e.g. {}.", url_example(form.kind)));
    } else if url.chars().any(char::is_whitespace) {
        errors.url = Some("A URL cannot contain spaces.".into());
    } else {
        match schemes.iter().find(|s| url.starts_with(**s)) {
            None => {
                errors.url = Some(format!(
                    "A {} URL starts with {}.",
                    form.kind.label(),
                    schemes.join(" or ")
                ))
            }
            Some(s) => {
                let rest = &url[s.len()..];
                let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
                let host = authority.rsplit('@').next().unwrap_or("");
                let user = authority.rsplit_once('@').map(|(u, _)| u);
                if host.is_empty() || host.starts_with(':') {
                    errors.url = Some("The URL needs a host, e.g. 127.0.0.1:8200.".into());
                } else if form.kind == BackendKind::AwsIam {
                    match user {
                        None | Some("") => {
                            errors.url = Some("Put the console's access key id in the URL as user, e.g. https://AKIA…@iam.amazonaws.com/.".into())
                        }
                        Some(u) if u.contains(':') => {
                            errors.url = Some("Leave the secret access key out of the URL: it goes in the credential below.".into())
                        }
                        Some(_) => {}
                    }
                }
            }
        }
    }

    let credential = match form.source {
        Source::None => NewCredential::None,
        Source::Keychain => {
            if form.secret.is_empty() {
                errors.secret = Some("Paste the credential; it goes to the OS keychain.".into());
            }
            NewCredential::Keychain {
                secret: form.secret.clone(),
            }
        }
        Source::Env => {
            let var = form.env_var.trim();
            let valid = var.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if var.is_empty() {
                errors.env_var = Some("Name the environment variable, e.g. BAO_TOKEN.".into());
            } else if !valid {
                errors.env_var =
                    Some("Use letters, digits and '_', not starting with a digit.".into());
            }
            NewCredential::Env { var: var.into() }
        }
    };

    let audit_log = form.audit_log.trim();
    if !audit_log.is_empty() && !audit_log.starts_with('/') {
        errors.audit_log =
            Some("Give the absolute path of the log file, e.g. /var/log/bao/audit.log.".into());
    }

    if errors.is_empty() {
        Ok(NewBackend {
            name: name.into(),
            kind: form.kind,
            url: url.into(),
            credential,
            audit_log: (!audit_log.is_empty()).then(|| audit_log.to_string()),
        })
    } else {
        Err(errors)
    }
}

#[derive(Properties, PartialEq)]
pub struct AddBackendProps {
    pub on_close: Callback<()>,
    /// Sends the request; the callback passed along receives the shell's answer.
    pub on_submit: Callback<(NewBackend, Callback<Result<BackendInfo, IpcError>>)>,
    /// Called with the new backend once it is registered.
    pub on_added: Callback<BackendInfo>,
}

fn input_value(e: &Event) -> String {
    e.target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        .map(|i| i.value())
        .unwrap_or_default()
}

fn select_value(e: &Event) -> String {
    e.target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlSelectElement>().ok())
        .map(|s| s.value())
        .unwrap_or_default()
}

#[component]
pub fn AddBackendDialog(props: &AddBackendProps) -> Html {
    let form = use_state(Form::default);
    let errors = use_state(FieldErrors::default);
    let server_error = use_state(|| None::<IpcError>);
    let busy = use_state(|| false);

    let edit = |f: fn(&mut Form, String)| {
        let form = form.clone();
        Callback::from(move |e: InputEvent| {
            let mut next = (*form).clone();
            f(&mut next, input_value(&e));
            form.set(next);
        })
    };
    let on_name = edit(|f, v| f.name = v);
    let on_url = edit(|f, v| f.url = v);
    let on_secret = edit(|f, v| f.secret = v);
    let on_env = edit(|f, v| f.env_var = v);
    let on_audit = edit(|f, v| f.audit_log = v);
    let on_kind = {
        let form = form.clone();
        Callback::from(move |e: Event| {
            let mut next = (*form).clone();
            if let Ok(kind) = select_value(&e).parse() {
                next.kind = kind;
            }
            form.set(next);
        })
    };
    let set_source = |source: Source| {
        let form = form.clone();
        Callback::from(move |_: Event| {
            let mut next = (*form).clone();
            next.source = source;
            form.set(next);
        })
    };

    let on_submit = {
        let (form, errors, server_error, busy) = (
            form.clone(),
            errors.clone(),
            server_error.clone(),
            busy.clone(),
        );
        let (submit, on_added) = (props.on_submit.clone(), props.on_added.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if *busy {
                return;
            }
            match validate(&form) {
                Err(field_errors) => errors.set(field_errors),
                Ok(req) => {
                    errors.set(FieldErrors::default());
                    server_error.set(None);
                    busy.set(true);
                    let (form, errors, server_error, busy, on_added) = (
                        form.clone(),
                        errors.clone(),
                        server_error.clone(),
                        busy.clone(),
                        on_added.clone(),
                    );
                    submit.emit((
                        req,
                        Callback::from(move |result: Result<BackendInfo, IpcError>| {
                            busy.set(false);
                            match result {
                                Ok(info) => {
                                    form.set(Form::default());
                                    on_added.emit(info);
                                }
                                Err(e) if e.code == ErrorCode::Conflict => {
                                    errors.set(FieldErrors {
                                        name: Some(e.message.clone()),
                                        ..FieldErrors::default()
                                    });
                                    server_error.set(Some(e));
                                }
                                Err(e) => server_error.set(Some(e)),
                            }
                        }),
                    ));
                }
            }
        })
    };

    let field_error = |id: &str, msg: &Option<String>| match msg {
        Some(m) => {
            html! { <p class="field-error" id={format!("{id}-error")} data-testid={format!("{id}-error")}>{ m }</p> }
        }
        None => html! {},
    };
    let f = &*form;
    // After a submit that found problems, the messages follow the form as it is edited: a fixed
    // field loses its message, and choosing another kind re-words the examples. The backend's
    // own refusal (a name already taken) stays until the next submit.
    let errors = if errors.is_empty() {
        (*errors).clone()
    } else {
        let mut live = validate(f).err().unwrap_or_default();
        let conflict = server_error
            .as_ref()
            .is_some_and(|e| e.code == ErrorCode::Conflict);
        if live.name.is_none() && conflict {
            live.name = errors.name.clone();
        }
        live
    };
    html! {
        <Dialog id="add-backend-dialog" title="Add backend" on_close={props.on_close.clone()}>
            <form id="add-backend-form" class="form" onsubmit={on_submit} novalidate=true>
                <label for="backend-name">{ "Name" }</label>
                <input id="backend-name" type="text" autocomplete="off" spellcheck="false" data-autofocus="true"
                       placeholder="prod-openbao" value={f.name.clone()} oninput={on_name}
                       aria-invalid={errors.name.is_some().to_string()} />
                { field_error("backend-name", &errors.name) }

                <label for="backend-kind">{ "Kind" }</label>
                <select id="backend-kind" onchange={on_kind}>
                    { for BackendKind::ALL.iter().map(|k| html! {
                        <option value={k.as_str()} selected={*k == f.kind}>{ k.label() }</option>
                    }) }
                </select>

                <label for="backend-url">{ "URL" }</label>
                <input id="backend-url" type="url" autocomplete="off" spellcheck="false"
                       placeholder={url_example(f.kind)} value={f.url.clone()} oninput={on_url}
                       aria-invalid={errors.url.is_some().to_string()} />
                { field_error("backend-url", &errors.url) }

                <fieldset class="source">
                    <legend>{ "Credential" }</legend>
                    <p class="hint" data-testid="credential-hint">{ "This backend needs " }{ f.kind.credential_hint() }{ "." }</p>
                    <div class="radios">
                        <label><input type="radio" id="cred-keychain" name="source" checked={f.source == Source::Keychain}
                               onchange={set_source(Source::Keychain)} />{ " OS keychain" }</label>
                        <label><input type="radio" id="cred-env" name="source" checked={f.source == Source::Env}
                               onchange={set_source(Source::Env)} />{ " Environment variable" }</label>
                        <label><input type="radio" id="cred-none" name="source" checked={f.source == Source::None}
                               onchange={set_source(Source::None)} />{ " None" }</label>
                    </div>
                    {
                        match f.source {
                            Source::Keychain => html! { <>
                                <label for="backend-secret">{ "Secret" }</label>
                                <input id="backend-secret" type="password" autocomplete="off"
                                       value={f.secret.clone()} oninput={on_secret}
                                       aria-invalid={errors.secret.is_some().to_string()} />
                                { field_error("backend-secret", &errors.secret) }
                                <p class="hint">{ "Stored in the OS keychain; Portcullis keeps only a reference and never shows it again." }</p>
                            </> },
                            Source::Env => html! { <>
                                <label for="backend-env-var">{ "Variable name" }</label>
                                <input id="backend-env-var" type="text" autocomplete="off" spellcheck="false"
                                       placeholder="BAO_TOKEN" value={f.env_var.clone()} oninput={on_env}
                                       aria-invalid={errors.env_var.is_some().to_string()} />
                                { field_error("backend-env-var", &errors.env_var) }
                                <p class="hint">{ "Read from the environment of the Portcullis process at each use; only the name is stored." }</p>
                            </> },
                            Source::None => html! {
                                <p class="hint">{ "For backends that need no credential, such as an unauthenticated local admin API." }</p>
                            },
                        }
                    }
                </fieldset>

                if f.kind == BackendKind::GitLab {
                    <details class="more" data-testid="gitlab-rights">
                        <summary>{ "What the console's GitLab token needs" }</summary>
                        <p class="hint">{ "A personal access token of an administrator (Admin area → Users → the console's user → Impersonation tokens, or the user's own Access tokens page). Give it an expiry; Check backend names any right that is missing." }</p>
                        <ul class="hint">
                            { for portcullis_model::GITLAB_RIGHTS.iter().map(|(right, why, optional)| html! {
                                <li><code>{ *right }</code>{ format!(" — {why}{}", if *optional { " (optional)" } else { "" }) }</li>
                            }) }
                        </ul>
                    </details>
                }

                if f.kind == BackendKind::Hoop {
                    <details class="more" data-testid="hoop-rights">
                        <summary>{ "What the console's hoop API key needs" }</summary>
                        <p class="hint">{ "A hoop API key (Settings → API keys) whose groups are its rights: auditor to review, admin to list keys, read the security audit log and revoke. Check backend names any right that is missing." }</p>
                        <ul class="hint">
                            { for portcullis_model::HOOP_RIGHTS.iter().map(|(right, why, optional)| html! {
                                <li><code>{ *right }</code>{ format!(" — {why}{}", if *optional { " (optional)" } else { "" }) }</li>
                            }) }
                        </ul>
                    </details>
                }

                if f.kind == BackendKind::GitHub {
                    <details class="more" data-testid="github-rights">
                        <summary>{ "What the console's GitHub App needs" }</summary>
                        <p class="hint">{ "GitHub serves the fine-grained PAT grant endpoints to GitHub Apps only: install an App of your own on the organisation with these organization permissions and paste an installation access token (it lasts an hour). Check backend names any right that is missing." }</p>
                        <ul class="hint">
                            { for portcullis_model::GITHUB_RIGHTS.iter().map(|(right, why, optional)| html! {
                                <li><code>{ *right }</code>{ format!(" — {why}{}", if *optional { " (optional)" } else { "" }) }</li>
                            }) }
                        </ul>
                    </details>
                }

                if f.kind == BackendKind::AwsIam {
                    <details class="more" data-testid="aws-policy">
                        <summary>{ "Least-privilege IAM policy for the console's user" }</summary>
                        <p class="hint">{ "Attach this policy to the IAM user whose access key the console uses; Check backend names any right that is missing. IAM has no audit trail of its own here (that is CloudTrail): last use comes from each key's GetAccessKeyLastUsed." }</p>
                        <pre class="policy">{ portcullis_model::aws_iam_console_policy() }</pre>
                    </details>
                }

                <details class="more" open={!f.audit_log.is_empty()}>
                    <summary>{ "Audit log file (optional)" }</summary>
                    <label for="backend-audit-log" class="sr-only">{ "Audit log file" }</label>
                    <input id="backend-audit-log" type="text" autocomplete="off" spellcheck="false"
                           placeholder={audit_example(f.kind)} value={f.audit_log.clone()} oninput={on_audit}
                           aria-invalid={errors.audit_log.is_some().to_string()} />
                    { field_error("backend-audit-log", &errors.audit_log) }
                    <p class="hint">{ "Where the backend writes its audit trail, when its API does not serve usage (Vault file audit device, OIDC provider event log, PostgreSQL jsonlog)." }</p>
                </details>

                if let Some(e) = &*server_error {
                    <ErrorNote error={e.clone()} context="The backend was not added" />
                }
                <footer>
                    <button type="button" class="ghost" onclick={props.on_close.reform(|_| ())}>{ "Cancel" }</button>
                    <button id="add-backend-submit" type="submit" class="primary" disabled={*busy}>
                        { if *busy { "Adding…" } else { "Add backend" } }
                    </button>
                </footer>
            </form>
        </Dialog>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> Form {
        Form {
            name: "sandbox-openbao".into(),
            kind: BackendKind::Vault,
            url: "http://127.0.0.1:8200".into(),
            source: Source::Env,
            secret: String::new(),
            env_var: "BAO_TOKEN".into(),
            audit_log: String::new(),
        }
    }

    #[test]
    fn valid_form_builds_request() {
        let req = validate(&form()).unwrap();
        assert_eq!(req.name, "sandbox-openbao");
        assert_eq!(
            req.credential,
            NewCredential::Env {
                var: "BAO_TOKEN".into()
            }
        );
    }

    #[test]
    fn each_field_says_what_is_wrong() {
        let mut f = form();
        f.name = "has space".into();
        f.url = "ftp://x".into();
        f.env_var = "1BAD".into();
        let e = validate(&f).unwrap_err();
        assert!(e.name.is_some() && e.url.is_some() && e.env_var.is_some());
        assert!(e.url.unwrap().contains("http"));
    }

    #[test]
    fn postgres_needs_postgres_scheme_and_keychain_needs_secret() {
        let mut f = form();
        f.kind = BackendKind::Postgres;
        f.source = Source::Keychain;
        let e = validate(&f).unwrap_err();
        assert!(e.url.is_some());
        assert!(e.secret.is_some());
        f.url = "postgres://portcullis@127.0.0.1:5432/app".into();
        f.secret = "pw".into();
        assert!(validate(&f).is_ok());
        f.url = "postgres://user@:5432/app".into();
        assert!(validate(&f).is_err());
        f.url = "postgres://portcullis@127.0.0.1:5432/app".into();
        f.audit_log = "relative/log.json".into();
        assert!(validate(&f).unwrap_err().audit_log.is_some());
        f.audit_log = " /var/log/pg.json ".into();
        assert_eq!(
            validate(&f).unwrap().audit_log.as_deref(),
            Some("/var/log/pg.json")
        );
    }

    #[test]
    fn aws_iam_needs_the_key_id_in_the_url_and_not_the_secret() {
        let mut f = form();
        f.kind = BackendKind::AwsIam;
        f.url = "https://iam.amazonaws.com/".into();
        assert!(validate(&f)
            .unwrap_err()
            .url
            .unwrap()
            .contains("access key id"));
        f.url = "https://AKIAX:secret@iam.amazonaws.com/".into();
        assert!(validate(&f).unwrap_err().url.unwrap().contains("secret"));
        f.url = "http://AKIAX@127.0.0.1:5050".into();
        assert!(validate(&f).is_ok());
    }
}
