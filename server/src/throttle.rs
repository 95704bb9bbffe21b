//! Login throttling in front of code2Session.
//!
//! code2Session's quota belongs to the whole mini-program (errcode 45011 when it runs out), so a
//! stream of junk codes from one client could lock every real user out. Four guards, cheapest
//! first:
//!
//! * [`LoginRateLimiter`]: a per-client-address token bucket on the login routes (governor).
//!   IPv6 addresses are grouped by /64, what one customer usually gets.
//! * a negative cache: a code WeChat called invalid or used (40029, 40163) is answered from
//!   memory for a while instead of being sent again;
//! * back-off: after 45011 or -1, logins fail at once (the same error) for a growing pause
//!   instead of hammering a WeChat that is refusing;
//! * an in-flight cap on code2Session calls, so a hanging WeChat cannot tie up one upstream
//!   connection per login.
//!
//! The last three live in [`UpstreamGuard`], which the WeChat client consults around each call.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, Request};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::limits::ClientAddr;
use crate::login::ExchangeError;

/// Default logins per second per client address, outside development mode.
pub const DEFAULT_LOGIN_RATE_PER_IP: u32 = 5;
/// Default burst of logins one client address may make at once.
pub const DEFAULT_LOGIN_BURST_PER_IP: u32 = 20;
/// Default cap on concurrent code2Session calls.
pub const DEFAULT_WECHAT_MAX_IN_FLIGHT: usize = 32;
/// How long a code WeChat rejected is remembered; a `wx.login` code lives five minutes.
pub const DEFAULT_NEGATIVE_CACHE_TTL: Duration = Duration::from_secs(5 * 60);
/// How many rejected codes are remembered at most (32 bytes of digest each, plus overhead).
pub const DEFAULT_NEGATIVE_CACHE_CAPACITY: usize = 50_000;
/// First pause after 45011 or -1; it doubles while WeChat keeps refusing.
pub const DEFAULT_BACKOFF_INITIAL: Duration = Duration::from_secs(1);
/// Longest pause: 45011 is a per-minute quota.
pub const DEFAULT_BACKOFF_MAX: Duration = Duration::from_secs(60);
/// The rate limiter forgets idle addresses every this many checks.
const HOUSEKEEPING_EVERY: u64 = 4096;

/// The throttling settings; [`ThrottleConfig::default`] gives the documented defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleConfig {
    /// Logins per second per client address; `None` turns the limit off (development mode's
    /// default, where no WeChat quota is at stake).
    pub login_rate_per_ip: Option<NonZeroU32>,
    /// Logins one client address may make in a burst.
    pub login_burst_per_ip: NonZeroU32,
    /// Use the last address of `X-Forwarded-For` as the client address (only behind a proxy
    /// that sets it; otherwise clients could pick their own address).
    pub trust_proxy: bool,
    /// Concurrent code2Session calls at most; further logins get `SERVER_BUSY` at once.
    pub wechat_max_in_flight: usize,
    /// How long a rejected code is answered from memory.
    pub negative_cache_ttl: Duration,
    /// How many rejected codes are remembered.
    pub negative_cache_capacity: usize,
    /// First back-off pause after 45011 or -1.
    pub backoff_initial: Duration,
    /// Longest back-off pause.
    pub backoff_max: Duration,
}

impl Default for ThrottleConfig {
    fn default() -> ThrottleConfig {
        ThrottleConfig {
            login_rate_per_ip: NonZeroU32::new(DEFAULT_LOGIN_RATE_PER_IP),
            login_burst_per_ip: NonZeroU32::new(DEFAULT_LOGIN_BURST_PER_IP)
                .unwrap_or(NonZeroU32::MIN),
            trust_proxy: false,
            wechat_max_in_flight: DEFAULT_WECHAT_MAX_IN_FLIGHT,
            negative_cache_ttl: DEFAULT_NEGATIVE_CACHE_TTL,
            negative_cache_capacity: DEFAULT_NEGATIVE_CACHE_CAPACITY,
            backoff_initial: DEFAULT_BACKOFF_INITIAL,
            backoff_max: DEFAULT_BACKOFF_MAX,
        }
    }
}

/// The client address of a request: the connection's peer, or with `trust_proxy` the last
/// (rightmost, i.e. added by our own proxy) valid address in `X-Forwarded-For`.
pub fn client_ip<B>(request: &Request<B>, trust_proxy: bool) -> Option<IpAddr> {
    if trust_proxy {
        if let Some(ip) = forwarded_for(request.headers()) {
            return Some(ip);
        }
    }
    request
        .extensions()
        .get::<ClientAddr>()
        .map(|addr| addr.0.ip())
}

/// The rightmost parsable address of `X-Forwarded-For`.
fn forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    let value = headers.get_all("x-forwarded-for").iter().next_back()?;
    value
        .to_str()
        .ok()?
        .rsplit(',')
        .map(str::trim)
        .find_map(|part| part.parse().ok())
}

/// The per-client-address login limit.
#[derive(Debug)]
pub struct LoginRateLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    checks: AtomicU64,
}

impl LoginRateLimiter {
    /// The limiter for `config`, or `None` when the limit is off.
    pub fn new(config: &ThrottleConfig) -> Option<LoginRateLimiter> {
        let rate = config.login_rate_per_ip?;
        let quota = Quota::per_second(rate).allow_burst(config.login_burst_per_ip);
        Some(LoginRateLimiter {
            limiter: RateLimiter::keyed(quota),
            checks: AtomicU64::new(0),
        })
    }

    /// `Ok` if `ip` may log in now, else how long until it may.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % HOUSEKEEPING_EVERY == 0 {
            // Addresses whose bucket is full again carry no information: drop them so the map
            // stays as small as the set of recently active clients.
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter
            .check_key(&group(ip))
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// IPv4 addresses as they are (also when they arrive IPv4-mapped on a dual-stack socket); IPv6
/// addresses reduced to their /64.
fn group(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
}

/// The guards around code2Session: negative cache, back-off and in-flight cap.
#[derive(Debug)]
pub struct UpstreamGuard {
    permits: std::sync::Arc<Semaphore>,
    state: Mutex<GuardState>,
    config: ThrottleConfig,
}

#[derive(Debug, Default)]
struct GuardState {
    /// SHA-256 of rejected codes (the codes themselves are not kept) → (verdict, expiry).
    rejected: HashMap<[u8; 32], (Rejection, Instant)>,
    /// The same digests in insertion order, which is also expiry order (one TTL for all).
    order: VecDeque<[u8; 32]>,
    /// While set, logins fail at once with this error until this instant.
    backoff_until: Option<(Instant, Rejection)>,
    /// The current pause; doubles on every refusal, reset by a success.
    backoff: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rejection {
    InvalidCode,
    CodeUsed,
    RateLimited,
    Busy,
}

impl Rejection {
    fn error(self) -> ExchangeError {
        match self {
            Rejection::InvalidCode => ExchangeError::InvalidCode,
            Rejection::CodeUsed => ExchangeError::CodeUsed,
            Rejection::RateLimited => ExchangeError::RateLimited,
            Rejection::Busy => ExchangeError::Busy,
        }
    }
}

/// Permission to make one code2Session call; hand it back to [`UpstreamGuard::record`].
#[derive(Debug)]
pub struct Admitted {
    _permit: OwnedSemaphorePermit,
    digest: [u8; 32],
}

impl UpstreamGuard {
    /// Guards configured by `config`.
    pub fn new(config: &ThrottleConfig) -> UpstreamGuard {
        UpstreamGuard {
            permits: std::sync::Arc::new(Semaphore::new(config.wechat_max_in_flight.max(1))),
            state: Mutex::new(GuardState::default()),
            config: config.clone(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, GuardState> {
        // Each update below is complete before anything can fail, so a poisoned state is usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Decides whether `code` may be sent to WeChat now. The errors are what WeChat would
    /// answer (a remembered rejection, or the refusal we are backing off from), or
    /// [`ExchangeError::Overloaded`] when too many calls are in flight.
    pub fn admit(&self, code: &str) -> Result<Admitted, ExchangeError> {
        let digest: [u8; 32] = Sha256::digest(code.as_bytes()).into();
        let now = Instant::now();
        {
            let mut state = self.lock();
            if let Some((until, rejection)) = state.backoff_until {
                if now < until {
                    return Err(rejection.error());
                }
                state.backoff_until = None;
            }
            state.forget_expired(now);
            if let Some((rejection, _)) = state.rejected.get(&digest) {
                return Err(rejection.error());
            }
        }
        let permit = std::sync::Arc::clone(&self.permits)
            .try_acquire_owned()
            .map_err(|_| ExchangeError::Overloaded)?;
        Ok(Admitted {
            _permit: permit,
            digest,
        })
    }

    /// Learns from a call's outcome: remembers rejected codes, starts or extends the back-off
    /// on 45011 and -1, ends it on anything else.
    pub fn record<T>(&self, admitted: Admitted, outcome: &Result<T, ExchangeError>) {
        let now = Instant::now();
        let mut state = self.lock();
        let rejection = match outcome {
            Err(ExchangeError::InvalidCode) => Some(Rejection::InvalidCode),
            Err(ExchangeError::CodeUsed) => Some(Rejection::CodeUsed),
            Err(ExchangeError::RateLimited) => Some(Rejection::RateLimited),
            Err(ExchangeError::Busy) => Some(Rejection::Busy),
            _ => None,
        };
        match rejection {
            Some(rejection @ (Rejection::RateLimited | Rejection::Busy)) => {
                if state.backoff_until.is_some_and(|(until, _)| now < until) {
                    // Calls admitted before the pause began answer the same episode; only a
                    // refusal after the pause lengthens it.
                    return;
                }
                let pause = state.backoff.map_or(self.config.backoff_initial, |p| {
                    (p * 2).min(self.config.backoff_max)
                });
                state.backoff = Some(pause);
                state.backoff_until = Some((now + pause, rejection));
                tracing::warn!(
                    pause_ms = u64::try_from(pause.as_millis()).unwrap_or(u64::MAX),
                    "code2Session refused (45011 or -1): pausing logins"
                );
            }
            Some(rejection) => {
                state.remember(admitted.digest, rejection, now, &self.config);
                state.backoff = None;
            }
            None => {
                if outcome.is_ok() {
                    state.backoff = None;
                }
            }
        }
    }

    /// How many rejected codes are remembered right now (for tests and the bench).
    pub fn remembered(&self) -> usize {
        self.lock().rejected.len()
    }
}

impl GuardState {
    fn forget_expired(&mut self, now: Instant) {
        while let Some(digest) = self.order.front() {
            match self.rejected.get(digest) {
                Some((_, expires)) if *expires > now => break,
                _ => {
                    if let Some(digest) = self.order.pop_front() {
                        self.rejected.remove(&digest);
                    }
                }
            }
        }
    }

    fn remember(
        &mut self,
        digest: [u8; 32],
        rejection: Rejection,
        now: Instant,
        config: &ThrottleConfig,
    ) {
        if config.negative_cache_capacity == 0 || self.rejected.contains_key(&digest) {
            return;
        }
        // Full: forget the oldest entry; a flood can only push out other junk.
        while self.rejected.len() >= config.negative_cache_capacity {
            match self.order.pop_front() {
                Some(oldest) => {
                    self.rejected.remove(&oldest);
                }
                None => break,
            }
        }
        self.rejected
            .insert(digest, (rejection, now + config.negative_cache_ttl));
        self.order.push_back(digest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ThrottleConfig {
        ThrottleConfig {
            backoff_initial: Duration::from_millis(50),
            backoff_max: Duration::from_millis(120),
            negative_cache_capacity: 3,
            wechat_max_in_flight: 2,
            ..ThrottleConfig::default()
        }
    }

    #[test]
    fn rejected_codes_are_remembered_within_capacity() {
        let guard = UpstreamGuard::new(&config());
        for code in ["a", "b", "c", "d"] {
            let admitted = guard.admit(code).unwrap();
            guard.record::<()>(admitted, &Err(ExchangeError::InvalidCode));
        }
        assert_eq!(guard.remembered(), 3);
        assert!(matches!(guard.admit("d"), Err(ExchangeError::InvalidCode)));
        // "a" was pushed out by "d".
        assert!(guard.admit("a").is_ok());
    }

    #[test]
    fn in_flight_calls_are_capped() {
        let guard = UpstreamGuard::new(&config());
        let first = guard.admit("x").unwrap();
        let _second = guard.admit("y").unwrap();
        assert!(matches!(guard.admit("z"), Err(ExchangeError::Overloaded)));
        guard.record::<()>(first, &Ok(()));
        assert!(guard.admit("z").is_ok());
    }

    #[test]
    fn backoff_doubles_up_to_the_maximum_and_ends_on_success() {
        let guard = UpstreamGuard::new(&config());
        let admitted = guard.admit("x").unwrap();
        guard.record::<()>(admitted, &Err(ExchangeError::RateLimited));
        assert!(matches!(guard.admit("y"), Err(ExchangeError::RateLimited)));
        std::thread::sleep(Duration::from_millis(60));
        let admitted = guard.admit("y").unwrap();
        guard.record::<()>(admitted, &Err(ExchangeError::Busy));
        assert_eq!(guard.lock().backoff, Some(Duration::from_millis(100)));
        assert!(matches!(guard.admit("z"), Err(ExchangeError::Busy)));
        std::thread::sleep(Duration::from_millis(110));
        let admitted = guard.admit("z").unwrap();
        guard.record::<()>(admitted, &Err(ExchangeError::Busy));
        assert_eq!(guard.lock().backoff, Some(Duration::from_millis(120)));
        std::thread::sleep(Duration::from_millis(130));
        let admitted = guard.admit("w").unwrap();
        guard.record(admitted, &Ok(()));
        assert_eq!(guard.lock().backoff, None);
    }

    #[test]
    fn ipv6_clients_are_grouped_by_their_64() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert_eq!(group(a), group(b));
        let v4: IpAddr = "10.1.2.3".parse().unwrap();
        assert_eq!(group(v4), v4);
        // IPv4 clients of a dual-stack listener are not all one /64.
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        let other: IpAddr = "::ffff:10.1.2.4".parse().unwrap();
        assert_eq!(group(mapped), v4);
        assert_ne!(group(mapped), group(other));
    }

    #[test]
    fn refusals_within_a_pause_do_not_lengthen_it() {
        let guard = UpstreamGuard::new(&ThrottleConfig {
            wechat_max_in_flight: 8,
            ..config()
        });
        let admitted: Vec<_> = ["a", "b", "c"]
            .map(|code| guard.admit(code).unwrap())
            .into();
        for one in admitted {
            guard.record::<()>(one, &Err(ExchangeError::RateLimited));
        }
        assert_eq!(guard.lock().backoff, Some(Duration::from_millis(50)));
    }

    #[test]
    fn the_rate_limit_allows_a_burst_then_refuses() {
        let limiter = LoginRateLimiter::new(&ThrottleConfig {
            login_rate_per_ip: NonZeroU32::new(1),
            login_burst_per_ip: NonZeroU32::new(3).unwrap(),
            ..ThrottleConfig::default()
        })
        .unwrap();
        let ip: IpAddr = [127, 0, 0, 2].into();
        for _ in 0..3 {
            assert!(limiter.check(ip).is_ok());
        }
        let wait = limiter.check(ip).unwrap_err();
        assert!(wait <= Duration::from_secs(1));
        assert!(limiter.check([127, 0, 0, 3].into()).is_ok());
    }

    #[test]
    fn forwarded_for_is_read_only_when_trusted() {
        let mut request = Request::new(());
        request
            .headers_mut()
            .insert("x-forwarded-for", "1.1.1.1, 2.2.2.2".parse().unwrap());
        request
            .extensions_mut()
            .insert(ClientAddr("127.0.0.1:5".parse().unwrap()));
        assert_eq!(client_ip(&request, false), Some([127, 0, 0, 1].into()));
        assert_eq!(client_ip(&request, true), Some([2, 2, 2, 2].into()));
    }
}
