//! The in-memory session store: two maps behind one mutex.
//!
//! One `std::sync::Mutex` (not an async one: it is never held across an `.await`) makes every
//! operation, and in particular the single sign-on swap, atomic. Expired sessions are removed when
//! they are next touched — by a check, a logout, or the user's next login — so the maps hold at
//! most one session per user who ever logged in; that is fine for development and single-instance
//! use, which is what this store is for. Everything is lost on restart (users and their uids live
//! in the user database, not here).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::{ActiveSession, NewSession, SessionStore, StoreError};
use crate::login::SessionKey;
use crate::token::Token;

/// See the module doc.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Token → session. The source of truth for "is this token valid".
    sessions: HashMap<Token, Session>,
    /// Openid → its one current token, so a new login can find and end the old session.
    current: HashMap<String, Token>,
}

#[derive(Debug)]
struct Session {
    openid: String,
    uid: String,
    session_key: Option<SessionKey>,
    expires_at: Instant,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // No code panics while holding the lock, and every update below leaves the maps
        // consistent before anything that could fail, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    /// Removes `token`'s session, and the openid's pointer to it if it still points there.
    fn remove(&mut self, token: &Token) -> Option<Session> {
        let session = self.sessions.remove(token)?;
        if self.current.get(&session.openid) == Some(token) {
            self.current.remove(&session.openid);
        }
        Some(session)
    }
}

impl SessionStore for MemoryStore {
    async fn start(
        &self,
        token: &Token,
        session: NewSession,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let now = Instant::now();
        let expires_at = now + ttl;
        let mut state = self.lock();
        // The single sign-on swap: under the same lock, forget the old token and install the new.
        let mut replaced = false;
        if let Some(previous) = state.current.insert(session.openid.clone(), token.clone()) {
            replaced = state
                .sessions
                .remove(&previous)
                .is_some_and(|old| old.expires_at > now);
        }
        state.sessions.insert(
            token.clone(),
            Session {
                openid: session.openid,
                uid: session.uid,
                session_key: session.session_key,
                expires_at,
            },
        );
        Ok(replaced)
    }

    async fn check(&self, token: &Token) -> Result<Option<ActiveSession>, StoreError> {
        let now = Instant::now();
        let mut state = self.lock();
        let Some(session) = state.sessions.get(token) else {
            return Ok(None);
        };
        if session.expires_at <= now {
            state.remove(token);
            return Ok(None);
        }
        Ok(Some(ActiveSession {
            openid: session.openid.clone(),
            uid: session.uid.clone(),
            session_key: session.session_key.clone(),
            expires_in: session.expires_at - now,
        }))
    }

    async fn revoke(&self, token: &Token) -> Result<Option<String>, StoreError> {
        let now = Instant::now();
        let removed = self.lock().remove(token);
        Ok(removed
            .filter(|session| session.expires_at > now)
            .map(|session| session.uid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(openid: &str) -> NewSession {
        NewSession {
            openid: openid.into(),
            uid: format!("uid-{openid}"),
            session_key: Some(SessionKey::new(format!("key-{openid}"))),
        }
    }

    #[tokio::test]
    async fn keeps_the_session_key_and_swaps_sessions_per_openid() {
        let store = MemoryStore::new();
        let ttl = Duration::from_secs(60);
        let (first, second) = (Token::generate().unwrap(), Token::generate().unwrap());
        assert!(!store.start(&first, session("o1"), ttl).await.unwrap());
        let active = store.check(&first).await.unwrap().unwrap();
        assert_eq!(active.session_key.unwrap().expose(), "key-o1");
        assert_eq!(active.openid, "o1");

        assert!(store.start(&second, session("o1"), ttl).await.unwrap());
        assert!(store.check(&first).await.unwrap().is_none());
        assert_eq!(store.revoke(&first).await.unwrap(), None);
        assert_eq!(
            store.revoke(&second).await.unwrap().as_deref(),
            Some("uid-o1")
        );
        assert!(store.lock().current.is_empty() && store.lock().sessions.is_empty());
    }
}
