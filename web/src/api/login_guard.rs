//! Password guessing and Argon2 floods at the login door. Each check costs Argon2's
//! 19 MiB and tens of milliseconds of a core: unbounded, 200 concurrent wrong logins
//! took the server from 97 MB to 2.65 GB. So checks run on one thread per core (the
//! scheduler's `hashing.rs`) with a short queue, bounded here (beyond it: 503, try
//! again), and failed logins slow down per account and per address: a few free, then
//! each further try waits twice as long as the last.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, SemaphorePermit};

/// Failures allowed before the delay starts: per account (a person mistyping), per
/// address (a commune's office behind one NAT holds many people).
const FREE_PER_ACCOUNT: u32 = 5;
const FREE_PER_ADDRESS: u32 = 20;
/// The longest wait after repeated failures: long for an account being guessed, short
/// for an address, so one guesser behind a commune's NAT does not lock its colleagues
/// out for long.
const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
const MAX_DELAY_PER_ADDRESS: Duration = Duration::from_secs(60);
/// A key without a failure for this long is forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(3600);
/// Keys tracked at most (attackers pick the usernames); older ones go first.
const MAX_KEYS: usize = 100_000;
/// Logins waiting for a password thread, at most, besides one per core being checked.
const MAX_WAITING: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Address(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

/// The delay policy, pure: time is a parameter.
#[derive(Debug, Default)]
pub struct Throttle {
    keys: HashMap<Key, Failures>,
}

/// The rule for one kind of key: failures allowed, then a doubling wait up to a cap.
#[derive(Debug, Clone, Copy)]
struct Rule {
    free: u32,
    max: Duration,
}

const PER_ACCOUNT: Rule = Rule {
    free: FREE_PER_ACCOUNT,
    max: MAX_DELAY,
};
const PER_ADDRESS: Rule = Rule {
    free: FREE_PER_ADDRESS,
    max: MAX_DELAY_PER_ADDRESS,
};

fn delay_after(count: u32, rule: Rule) -> Duration {
    match count.checked_sub(rule.free) {
        None | Some(0) => Duration::ZERO,
        Some(over) => Duration::from_secs(1u64 << over.min(20).saturating_sub(1)).min(rule.max),
    }
}

impl Throttle {
    fn keys(account: &str, addr: Option<IpAddr>) -> impl Iterator<Item = (Key, Rule)> {
        let account = (Key::Account(account.trim().to_lowercase()), PER_ACCOUNT);
        let addr = addr.map(|a| (Key::Address(a), PER_ADDRESS));
        std::iter::once(account).chain(addr)
    }

    /// `Err(wait)` while this account or address must still wait after its failures.
    pub fn check(&self, account: &str, addr: Option<IpAddr>, now: Instant) -> Result<(), Duration> {
        let wait = Self::keys(account, addr)
            .filter_map(|(k, rule)| {
                let f = self.keys.get(&k)?;
                let until = f.last + delay_after(f.count, rule);
                until.checked_duration_since(now)
            })
            .max()
            .unwrap_or(Duration::ZERO);
        if wait.is_zero() { Ok(()) } else { Err(wait) }
    }

    pub fn failed(&mut self, account: &str, addr: Option<IpAddr>, now: Instant) {
        if self.keys.len() >= MAX_KEYS {
            self.keys
                .retain(|_, f| now.saturating_duration_since(f.last) < FORGET_AFTER);
        }
        if self.keys.len() >= MAX_KEYS {
            // Still full of fresh keys: a flood of made-up names. Keep the worst offenders.
            let mut counts: Vec<u32> = self.keys.values().map(|f| f.count).collect();
            counts.sort_unstable();
            let median = counts[counts.len() / 2];
            self.keys.retain(|_, f| f.count > median);
        }
        for (k, _) in Self::keys(account, addr) {
            let f = self.keys.entry(k).or_insert(Failures {
                count: 0,
                last: now,
            });
            f.count = f.count.saturating_add(1);
            f.last = now;
        }
    }

    /// A right password clears the account's failures (not the address's: one
    /// success must not unlock guessing at the other accounts from there).
    pub fn succeeded(&mut self, account: &str) {
        self.keys
            .remove(&Key::Account(account.trim().to_lowercase()));
    }
}

/// What the login handler asks before checking a password.
#[derive(Debug)]
pub struct LoginGuard {
    throttle: Mutex<Throttle>,
    /// Logins in progress, at most: the password threads (one per core, the
    /// scheduler's `hashing.rs`) work through them in turn.
    in_flight: Semaphore,
}

/// Why a login was not even tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Too many failures: try again after this long.
    Throttled(Duration),
    /// Too many logins at once.
    Busy,
}

impl Default for LoginGuard {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            throttle: Mutex::default(),
            in_flight: Semaphore::new(cores + MAX_WAITING),
        }
    }
}

impl LoginGuard {
    fn with<T>(&self, f: impl FnOnce(&mut Throttle) -> T) -> T {
        match self.throttle.lock() {
            Ok(mut t) => f(&mut t),
            Err(p) => f(&mut p.into_inner()),
        }
    }

    /// A place among the logins in progress, unless this account or address must wait
    /// or too many are in progress. Hold it while the password is checked.
    pub fn admit(
        &self,
        account: &str,
        addr: Option<IpAddr>,
    ) -> Result<SemaphorePermit<'_>, Refused> {
        self.with(|t| t.check(account, addr, Instant::now()))
            .map_err(Refused::Throttled)?;
        self.in_flight.try_acquire().map_err(|_| Refused::Busy)
    }

    pub fn failed(&self, account: &str, addr: Option<IpAddr>) {
        self.with(|t| t.failed(account, addr, Instant::now()));
    }

    pub fn succeeded(&self, account: &str) {
        self.with(|t| t.succeeded(account));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADDR: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 7)));

    #[test]
    fn a_few_mistakes_are_free_then_each_try_waits_longer() {
        let mut t = Throttle::default();
        let t0 = Instant::now();
        for i in 0..FREE_PER_ACCOUNT {
            assert_eq!(t.check("vp.tinh", ADDR, t0), Ok(()), "try {i}");
            t.failed("vp.tinh", ADDR, t0);
        }
        assert_eq!(
            t.check("VP.Tinh ", ADDR, t0),
            Ok(()),
            "five failures are free"
        );
        t.failed("vp.tinh", ADDR, t0);
        assert_eq!(t.check("vp.tinh", ADDR, t0), Err(Duration::from_secs(1)));
        t.failed("vp.tinh", ADDR, t0);
        assert_eq!(t.check("vp.tinh", ADDR, t0), Err(Duration::from_secs(2)));
        let later = t0 + Duration::from_secs(2);
        assert_eq!(t.check("vp.tinh", ADDR, later), Ok(()));
        // Another account from elsewhere is not held up by this one.
        assert_eq!(t.check("site.07888", None, t0), Ok(()));
        for _ in 0..30 {
            t.failed("vp.tinh", ADDR, t0);
        }
        assert_eq!(t.check("vp.tinh", None, t0), Err(MAX_DELAY), "capped");
        t.succeeded("vp.tinh");
        assert_eq!(t.check("vp.tinh", None, t0), Ok(()));
    }

    #[test]
    fn one_address_guessing_many_accounts_is_slowed_too() {
        let mut t = Throttle::default();
        let t0 = Instant::now();
        for i in 0..=FREE_PER_ADDRESS {
            t.failed(&format!("user{i}"), ADDR, t0);
        }
        assert!(t.check("someone.else", ADDR, t0).is_err());
        assert_eq!(t.check("someone.else", None, t0), Ok(()));
        for i in 0..100 {
            t.failed(&format!("more{i}"), ADDR, t0);
        }
        assert_eq!(
            t.check("someone.else", ADDR, t0),
            Err(MAX_DELAY_PER_ADDRESS),
            "an address waits a minute at most"
        );
    }

    #[test]
    fn made_up_names_cannot_grow_the_table_without_bound() {
        let mut t = Throttle::default();
        let t0 = Instant::now();
        for i in 0..(MAX_KEYS + 10) {
            t.failed(&format!("u{i}"), None, t0);
        }
        assert!(t.keys.len() <= MAX_KEYS);
    }

    #[test]
    fn logins_in_progress_are_bounded() {
        let guard = LoginGuard::default();
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let mut held: Vec<_> = (0..cores + MAX_WAITING)
            .map(|_| guard.admit("a", None).expect("under the bound"))
            .collect();
        assert_eq!(guard.admit("b", None).err(), Some(Refused::Busy));
        held.pop();
        assert!(
            guard.admit("b", None).is_ok(),
            "a finished login frees its place"
        );
    }
}
