//! The approvals page at `/ui`: people log in with the org API key (a form,
//! never a URL), see pending approvals and decide them. Server-rendered
//! HTML (maud escapes everything it interpolates), no JavaScript; the page
//! reloads itself every 2 seconds, so a waiting agent proceeds as soon as
//! someone clicks.
//!
//! The browser holds a random session token in an `HttpOnly`,
//! `SameSite=Strict` cookie scoped to `/ui`, never the key; every POST but
//! the login carries the session's CSRF token, compared in constant time.
//! A refused request changes nothing.

mod pages;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Deserialize;

use crate::api::AppState;
use crate::store::ApprovalStatus;

/// The session cookie's name.
pub(crate) const COOKIE: &str = "agenttrust_ui";
/// How long a login lasts on the server (the cookie itself ends with the
/// browser session).
const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);

/// Logged-in browsers, by session token.
#[derive(Default)]
pub(crate) struct UiSessions {
    inner: Mutex<HashMap<String, UiSession>>,
}

#[derive(Clone)]
struct UiSession {
    /// Recorded as `decided_by`.
    name: String,
    csrf: String,
    expires: Instant,
}

impl UiSessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, UiSession>> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn start(&self, name: String) -> (String, UiSession) {
        let token = random_token();
        let session = UiSession {
            name,
            csrf: random_token(),
            expires: Instant::now() + SESSION_TTL,
        };
        let mut sessions = self.lock();
        let now = Instant::now();
        sessions.retain(|_, s| s.expires > now);
        sessions.insert(token.clone(), session.clone());
        (token, session)
    }

    fn get(&self, jar: &CookieJar) -> Option<UiSession> {
        let token = jar.get(COOKIE)?.value().to_owned();
        let sessions = self.lock();
        sessions
            .get(&token)
            .filter(|s| s.expires > Instant::now())
            .cloned()
    }

    fn end(&self, jar: &CookieJar) {
        if let Some(cookie) = jar.get(COOKIE) {
            self.lock().remove(cookie.value());
        }
    }
}

fn random_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

fn same(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The page's routes (outside the API-key middleware: the browser proves
/// itself with the session cookie instead).
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui", get(page))
        .route("/ui/login", post(login))
        .route("/ui/logout", post(logout))
        .route("/ui/approvals/{approval_id}/{verb}", post(decide))
        .layer(axum::middleware::map_response(security_headers))
}

/// No framing, no inline scripts, no caching, no referrer.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

async fn page(State(state): State<AppState>, jar: CookieJar) -> Response {
    match state.ui_sessions.get(&jar) {
        Some(session) => dashboard(&state, &session, None, StatusCode::OK),
        None => pages::login(None).into_response(),
    }
}

fn dashboard(
    state: &AppState,
    session: &UiSession,
    notice: Option<&str>,
    status: StatusCode,
) -> Response {
    let view = {
        let mut data = state.store.lock();
        pages::View::of(&mut data, SystemTime::now())
    };
    (
        status,
        pages::dashboard(&view, &session.name, &session.csrf, notice),
    )
        .into_response()
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    api_key: String,
    #[serde(default)]
    name: String,
}

async fn login(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Response {
    if !state.key_matches(form.api_key.as_bytes()) {
        let page = pages::login(Some("That is not this gateway's API key."));
        return (StatusCode::UNAUTHORIZED, page).into_response();
    }
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        let page = pages::login(Some(
            "Give your name or e-mail (at most 200 characters): it is recorded with each decision.",
        ));
        return (StatusCode::BAD_REQUEST, page).into_response();
    }
    let (token, _) = state.ui_sessions.start(name.to_owned());
    let cookie = Cookie::build((COOKIE, token))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/ui")
        .build();
    (jar.add(cookie), Redirect::to("/ui")).into_response()
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(form): Form<CsrfForm>,
) -> Response {
    match state.ui_sessions.get(&jar) {
        Some(session) if same(&form.csrf, &session.csrf) => {
            state.ui_sessions.end(&jar);
            let gone = Cookie::build((COOKIE, "")).path("/ui").build();
            (jar.remove(gone), Redirect::to("/ui")).into_response()
        }
        _ => (StatusCode::FORBIDDEN, pages::login(Some("Log in again."))).into_response(),
    }
}

async fn decide(
    State(state): State<AppState>,
    jar: CookieJar,
    Path((approval_id, verb)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let Some(session) = state.ui_sessions.get(&jar) else {
        return (
            StatusCode::UNAUTHORIZED,
            pages::login(Some("Log in to decide approvals.")),
        )
            .into_response();
    };
    if !same(&form.csrf, &session.csrf) {
        let notice = "That form is stale or did not come from this page; nothing was decided.";
        return dashboard(&state, &session, Some(notice), StatusCode::FORBIDDEN);
    }
    let status = match verb.as_str() {
        "approve" => ApprovalStatus::Approved,
        "deny" => ApprovalStatus::Denied,
        _ => {
            return dashboard(
                &state,
                &session,
                Some("Unknown action."),
                StatusCode::NOT_FOUND,
            )
        }
    };
    let decided =
        state
            .store
            .lock()
            .decide_approval(&approval_id, status, &session.name, SystemTime::now());
    match decided {
        Ok(_) => Redirect::to("/ui").into_response(),
        Err(error) => {
            let notice = error.message().to_owned();
            dashboard(&state, &session, Some(&notice), error.status())
        }
    }
}
