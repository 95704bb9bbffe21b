//! The session itself: login, checkHasLogined, logout and the state between them.
//!
//! It knows nothing about `wx` or JavaScript: everything outside goes through [`Platform`], every
//! server dialect through [`ProtocolSpec`]. Storage is the source of truth for "who is logged
//! in" (other code on the page may read or clear `token` itself); the session only keeps in memory
//! what saves work: the flights under way, the last server verdict, and an epoch that tells a
//! late login answer it has been overtaken by a logout.

use std::cell::{Cell, RefCell};

use crate::error::SessionError;
use crate::flight::{in_flight, Flight, Pilot};
use crate::json::Json;
use crate::platform::{AppCall, Credentials, Platform, Refresh, SessionEvent, TokenOnRequest};
use crate::protocol::spec::TokenPlacement;
use crate::protocol::{
    answer, failure, is_success, same_origin, LoginGrant, ProtocolSpec, Revocation, TokenStatus, MESSAGE_PATHS,
};
use crate::revocations::{self, Pending};
use crate::store::{self, Loaded, StoredSession, Token};

/// Tunable behaviour, with the defaults documented in the README.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Loading title while logging in; empty shows none.
    pub login_loading_text: String,
    /// Loading title while logging out; empty shows none.
    pub logout_loading_text: String,
    /// How long a successful server check is trusted without asking again, in ms.
    pub check_trust_ms: u64,
    /// How many times one request may re-login and replay after "session invalid".
    pub relogin_limit: u32,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            // WeChat's own wording (登录); the seeds' 登陆中 / 退出登陆中 are one option away.
            login_loading_text: "登录中".to_owned(),
            logout_loading_text: "正在退出".to_owned(),
            check_trust_ms: 5 * 60 * 1000,
            relogin_limit: 1,
        }
    }
}

/// What `login()` resolves with.
#[derive(Debug, Clone, PartialEq)]
pub struct LoginOutcome {
    /// The session now stored.
    pub session: StoredSession,
}

/// Whether the server confirmed a logout's revocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerRevocation {
    /// Revoked just now.
    Revoked,
    /// It was already invalid.
    AlreadyInvalid,
    /// The server could not be reached or failed; the token is queued for another try.
    Unconfirmed,
    /// There was no token to revoke.
    Nothing,
    /// The server took the logout but cannot revoke tokens (litemall's stateless JWTs): the token
    /// stays valid there until it expires.
    NotRevocable,
}

/// What `logout()` resolves with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogoutOutcome {
    /// Whether there was a session on the device.
    pub was_logged_in: bool,
    /// What the server said.
    pub server: ServerRevocation,
}

impl LogoutOutcome {
    /// Whether no token is left live on the server as far as we know.
    pub fn server_confirmed(&self) -> bool {
        !matches!(self.server, ServerRevocation::Unconfirmed | ServerRevocation::NotRevocable)
    }
}

type LoginResult = Result<LoginOutcome, SessionError>;
type CheckResult = Result<bool, SessionError>;

/// One user's session on this device.
pub struct Session<P: Platform> {
    platform: P,
    protocol: ProtocolSpec,
    config: SessionConfig,
    /// Bumped by every logout; a login that started in an older epoch must not store its token.
    epoch: Cell<u64>,
    /// `wx.checkSession` is asked once per launch: it only speaks for WeChat's session_key.
    wechat_checked: Cell<bool>,
    /// The token the server last called valid, and until when that verdict is trusted.
    trusted: RefCell<Option<(Token, u64)>>,
    /// The session as last read or written, so that reading it again costs one storage call (the
    /// `token` key, which stays the source of truth) instead of two.
    known: RefCell<Option<StoredSession>>,
    login_seat: RefCell<Option<Flight<LoginResult>>>,
    check_seat: RefCell<Option<Flight<CheckResult>>>,
    logout_seat: RefCell<Option<Flight<LogoutOutcome>>>,
    /// Set while queued revocations are being retried, so retries never overlap.
    revoking: Cell<bool>,
}

impl<P: Platform> Session<P> {
    /// A session over `platform`, speaking `protocol`.
    pub fn new(platform: P, protocol: ProtocolSpec, config: SessionConfig) -> Self {
        Session {
            platform,
            protocol,
            config,
            epoch: Cell::new(0),
            wechat_checked: Cell::new(false),
            trusted: RefCell::new(None),
            known: RefCell::new(None),
            login_seat: RefCell::new(None),
            check_seat: RefCell::new(None),
            logout_seat: RefCell::new(None),
            revoking: Cell::new(false),
        }
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &str {
        self.protocol.base_url()
    }

    /// The platform underneath (tests inspect their fakes through it).
    pub fn platform(&self) -> &P {
        &self.platform
    }

    /// The stored session, if a well-formed and unexpired one is there. Malformed storage is
    /// cleaned up; an expired token is cleared and reported as `expired`.
    pub fn current(&self) -> Option<StoredSession> {
        let loaded = store::load(&self.platform, self.known.borrow().as_ref());
        match loaded {
            Loaded::Session(session) if session.is_expired(self.platform.now_ms()) => {
                self.forget(&session.token, SessionEvent::Expired);
                None
            }
            Loaded::Session(session) => {
                *self.known.borrow_mut() = Some(session.clone());
                Some(session)
            }
            Loaded::Empty | Loaded::Cleaned => None,
        }
    }

    /// The current token, if logged in. Synchronous and free of `wx` calls other than storage.
    pub fn token(&self) -> Option<Token> {
        self.current().map(|s| s.token)
    }

    /// `wx.login` → server login → token stored. Concurrent calls share one login (the first
    /// caller's `fields` are the ones sent).
    pub async fn login(&self, fields: &[(String, Json)]) -> LoginResult {
        if let Some(flight) = in_flight(&self.login_seat) {
            return flight.wait().await;
        }
        let pilot = Pilot::board(&self.login_seat, Err(SessionError::LoggedOut));
        let epoch = self.epoch.get();
        self.show_loading(&self.config.login_loading_text);
        let result = self.login_once(epoch, fields).await;
        self.hide_loading(&self.config.login_loading_text);
        if let Ok(outcome) = &result {
            self.platform.emit(&SessionEvent::Login {
                uid: outcome.session.uid.clone(),
                user_info: outcome.session.user_info.clone(),
            });
        }
        pilot.land(result)
    }

    async fn login_once(&self, epoch: u64, fields: &[(String, Json)]) -> LoginResult {
        let code = self.platform.login_code().await?;
        let request = self.protocol.login_request(&code, fields)?;
        let response = self.platform.send(&request).await?;
        let grant = self.protocol.decode_login(&response)?;
        if self.epoch.get() != epoch {
            // The user logged out while this login was in flight: the late token must not live on.
            let expires_at = self.session_from(grant.clone()).expires_at_ms;
            self.revoke_or_queue(&grant.token, expires_at).await;
            return Err(SessionError::LoggedOut);
        }
        let session = self.session_from(grant);
        store::save(&self.platform, &session, self.known.borrow().as_ref())?;
        *self.known.borrow_mut() = Some(session.clone());
        // A fresh wx.login renewed WeChat's session_key, and the server just vouched for the token.
        self.wechat_checked.set(true);
        self.trust(&session.token);
        Ok(LoginOutcome { session })
    }

    fn session_from(&self, grant: LoginGrant) -> StoredSession {
        let now = self.platform.now_ms();
        StoredSession {
            token: grant.token,
            uid: grant.uid,
            user_info: grant.user_info,
            expires_at_ms: grant.expires_in_s.map(|s| now.saturating_add(s.saturating_mul(1000))),
        }
    }

    /// Whether the user is logged in: token present and unexpired → WeChat's session valid (asked
    /// once per launch) → the server accepts the token (trusted for `check_trust_ms` afterwards).
    ///
    /// `Ok(false)` means logged out (a stale token was removed). An error means the server could
    /// not be asked (`NETWORK`, `SERVER_ERROR`, `BAD_RESPONSE`): the token is kept.
    pub async fn check_has_logined(&self) -> CheckResult {
        let Some(session) = self.current() else { return Ok(false) };
        if self.is_trusted(&session.token) {
            return Ok(true);
        }
        if let Some(flight) = in_flight(&self.check_seat) {
            return flight.wait().await;
        }
        let pilot = Pilot::board(&self.check_seat, Ok(false));
        let result = self.check_once(&session.token).await;
        pilot.land(result)
    }

    async fn check_once(&self, token: &Token) -> CheckResult {
        if !self.wechat_checked.get() {
            if !self.platform.wechat_session_valid().await {
                self.forget(token, SessionEvent::Invalidated);
                return Ok(false);
            }
            self.wechat_checked.set(true);
        }
        let Some(request) = self.protocol.check_request(token) else {
            // A server without a check endpoint: WeChat's verdict and the expiry are all we have.
            return Ok(true);
        };
        let epoch = self.epoch.get();
        let response = self.platform.send(&request).await?;
        match self.protocol.decode_check(&response)? {
            TokenStatus::Valid if self.epoch.get() == epoch => {
                self.trust(token);
                Ok(true)
            }
            // Logged out meanwhile: the verdict is about a token that is gone.
            TokenStatus::Valid => Ok(self.current().is_some()),
            TokenStatus::Invalid => {
                self.forget(token, SessionEvent::Invalidated);
                Ok(false)
            }
        }
    }

    /// Ends the session on this device at once, then asks the server to revoke the token. The
    /// device ends logged out whatever the server says; an unconfirmed revocation is queued and
    /// retried. A second call while one is under way joins it (one server call per double tap).
    pub async fn logout(&self, refresh: &Refresh) -> LogoutOutcome {
        if let Some(flight) = in_flight(&self.logout_seat) {
            return flight.wait().await;
        }
        let pilot = Pilot::board(
            &self.logout_seat,
            LogoutOutcome { was_logged_in: false, server: ServerRevocation::Unconfirmed },
        );
        // Everything in flight belongs to the old session from here on; a login started after this
        // point must start afresh rather than join a flight whose result will be discarded.
        self.epoch.set(self.epoch.get().wrapping_add(1));
        *self.trusted.borrow_mut() = None;
        *self.login_seat.borrow_mut() = None;
        *self.check_seat.borrow_mut() = None;
        let stored = match store::load(&self.platform, self.known.borrow().as_ref()) {
            Loaded::Session(session) => Some(session),
            Loaded::Empty | Loaded::Cleaned => None,
        };
        let token = stored.as_ref().map(|s| s.token.clone());
        store::clear(&self.platform);
        *self.known.borrow_mut() = None;
        if token.is_some() {
            self.platform.emit(&SessionEvent::Logout);
        }
        let server = match &token {
            Some(token) => {
                self.show_loading(&self.config.logout_loading_text);
                let server = self.revoke_or_queue(token, stored.as_ref().and_then(|s| s.expires_at_ms)).await;
                self.hide_loading(&self.config.logout_loading_text);
                server
            }
            None => ServerRevocation::Nothing,
        };
        self.platform.refresh(refresh);
        pilot.land(LogoutOutcome { was_logged_in: token.is_some(), server })
    }

    /// Sends one of the app's own requests. The token goes only to the server's own origin; when
    /// the server answers "session invalid", the session re-logs in (one login shared by every
    /// request that needs it) and replays, at most `relogin_limit` times. Never loops, always
    /// settles. Non-2xx answers reject with `SERVER_ERROR` / `SERVER_REJECTED` and the status.
    pub async fn request(&self, call: &P::Call, loading: Option<&str>) -> Result<P::Reply, SessionError> {
        let title = loading.unwrap_or("");
        self.show_loading(title);
        let result = self.request_with_relogin(call).await;
        self.hide_loading(title);
        result
    }

    async fn request_with_relogin(&self, call: &P::Call) -> Result<P::Reply, SessionError> {
        let ours = same_origin(&call.url(), self.protocol.base_url());
        let epoch = self.epoch.get();
        let mut relogins = 0;
        loop {
            let token = if ours { self.token() } else { None };
            let credentials = ours.then(|| Credentials {
                token: token.as_ref().map(|t| self.token_on_request(t)),
                headers: self.protocol.request_headers().to_vec(),
            });
            let reply = self.platform.send_call(call, credentials.as_ref()).await?;
            let status = self.platform.reply_status(&reply);
            if !ours && is_success(status) {
                return Ok(reply);
            }
            // Only the fields the verdict reads are taken out of the reply: the app gets it whole.
            let paths = if ours { self.protocol.reply_paths(status) } else { MESSAGE_PATHS.to_vec() };
            let summary = self.platform.reply_summary(&reply, &paths);
            if !ours || !self.protocol.says_session_invalid(&summary) {
                return if is_success(summary.status) { Ok(reply) } else { Err(failure(&summary)) };
            }
            if self.epoch.get() != epoch {
                // The user logged out meanwhile: a request must never log them back in.
                return Err(SessionError::LoggedOut);
            }
            if relogins >= self.config.relogin_limit {
                if let Some(token) = &token {
                    self.forget(token, SessionEvent::Invalidated);
                }
                return Err(SessionError::SessionInvalid(answer(&summary)));
            }
            relogins += 1;
            let current = self.token();
            // If another caller already replaced the rejected token, just replay with the new one.
            if current.is_none() || current == token {
                if let Some(token) = &token {
                    self.forget(token, SessionEvent::Invalidated);
                }
                self.login(&[]).await?;
                if self.epoch.get() != epoch {
                    return Err(SessionError::LoggedOut);
                }
            }
        }
    }

    fn token_on_request(&self, token: &Token) -> TokenOnRequest {
        let text = token.as_str().to_owned();
        match self.protocol.token_placement() {
            TokenPlacement::Header { name, prefix } => TokenOnRequest::Header(name.clone(), crate::json::join(&[prefix, &text])),
            TokenPlacement::Query(name) => TokenOnRequest::Query(name.clone(), text),
            TokenPlacement::Body(name) => TokenOnRequest::Field(name.clone(), text),
        }
    }

    /// Asks the server to revoke `token`; if it could not be asked (offline, 5xx, busy), queues the
    /// token for later. A definitive refusal (a 4xx such as 404) is not queued: asking again would
    /// not change it, so the app is told it was given up.
    async fn revoke_or_queue(&self, token: &Token, expires_at_ms: Option<u64>) -> ServerRevocation {
        match self.revoke(token).await {
            Ok(Revocation::Revoked) if !self.protocol.logout_revokes() => ServerRevocation::NotRevocable,
            Ok(Revocation::Revoked) => ServerRevocation::Revoked,
            Ok(Revocation::AlreadyInvalid) => ServerRevocation::AlreadyInvalid,
            Err(error) if is_definitive(&error) => {
                self.platform.emit(&SessionEvent::RevocationAbandoned { reason: "refused" });
                ServerRevocation::Unconfirmed
            }
            Err(_) if !self.protocol.logout_revokes() => ServerRevocation::NotRevocable,
            Err(error) => {
                let entry = Pending { token: token.clone(), expires_at_ms, tries: 0, next_at_ms: 0 };
                // Offline: try again at the next chance (a request, a reconnect, a launch). A server
                // that failed: wait before asking it again.
                let entry = if matches!(error, SessionError::Network(_)) { entry } else { entry.failed(self.platform.now_ms()) };
                revocations::queue(&self.platform, entry);
                ServerRevocation::Unconfirmed
            }
        }
    }

    async fn revoke(&self, token: &Token) -> Result<Revocation, SessionError> {
        let response = self.platform.send(&self.protocol.logout_request(token)).await?;
        self.protocol.decode_logout(&response)
    }

    /// Retries the queued revocations that are due; stops at the first network failure (still
    /// offline, which counts no try). A server that failed is asked again only after a wait that
    /// doubles each time; entries are given up on a definitive refusal, on expiry or after
    /// [`revocations::MAX_TRIES`] server failures, each with a `revocationAbandoned` event.
    /// Returns how many are still queued.
    pub async fn retry_revocations(&self) -> usize {
        if self.revoking.replace(true) {
            return revocations::pending(&self.platform).len();
        }
        for entry in revocations::pending(&self.platform) {
            let now = self.platform.now_ms();
            if entry.expired(now) {
                self.abandon(&entry.token, "expired");
                continue;
            }
            if !entry.due(now) {
                continue;
            }
            match self.revoke(&entry.token).await {
                Ok(_) => revocations::settle(&self.platform, &entry.token),
                Err(error) if is_definitive(&error) => self.abandon(&entry.token, "refused"),
                // Still offline: the next chance comes with the network; no try is counted.
                Err(SessionError::Network(_)) => break,
                Err(_) => {
                    let next = entry.failed(self.platform.now_ms());
                    if next.tries >= revocations::MAX_TRIES {
                        self.abandon(&entry.token, "tooManyTries");
                    } else {
                        revocations::queue(&self.platform, next);
                    }
                }
            }
        }
        self.revoking.set(false);
        revocations::pending(&self.platform).len()
    }

    fn abandon(&self, token: &Token, reason: &'static str) {
        revocations::settle(&self.platform, token);
        self.platform.emit(&SessionEvent::RevocationAbandoned { reason });
    }

    fn is_trusted(&self, token: &Token) -> bool {
        let now = self.platform.now_ms();
        matches!(&*self.trusted.borrow(), Some((t, until)) if t == token && now < *until)
    }

    fn trust(&self, token: &Token) {
        let until = self.platform.now_ms().saturating_add(self.config.check_trust_ms);
        *self.trusted.borrow_mut() = Some((token.clone(), until));
    }

    /// Drops a session the server or WeChat no longer accepts (only if it is still the stored one)
    /// and tells listeners why.
    fn forget(&self, token: &Token, why: SessionEvent) {
        let mut trusted = self.trusted.borrow_mut();
        if trusted.as_ref().is_some_and(|(t, _)| t == token) {
            *trusted = None;
        }
        drop(trusted);
        *self.known.borrow_mut() = None;
        if store::clear_if_token(&self.platform, token) {
            self.platform.emit(&why);
        }
    }

    fn show_loading(&self, title: &str) {
        if !title.is_empty() {
            self.platform.show_loading(title);
        }
    }

    fn hide_loading(&self, title: &str) {
        if !title.is_empty() {
            self.platform.hide_loading();
        }
    }
}

/// Whether a failed revocation would fail the same way if asked again: a 4xx, except the ones
/// that mean "later" (408 timeout, 425 too early, 429 too many requests).
fn is_definitive(error: &SessionError) -> bool {
    matches!(error, SessionError::ServerRejected(answer) if !matches!(answer.status, 408 | 425 | 429))
}
