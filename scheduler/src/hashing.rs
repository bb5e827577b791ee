//! Password hashing off the async threads, on a few long-lived threads of its own.
//!
//! Argon2 takes 19 MiB per check. On tokio's blocking pool every burst of logins ran on
//! fresh threads, each with its own malloc arena keeping its 19 MiB after the check: a
//! login flood grew the process by hundreds of MB even with the checks bounded. One
//! thread per core, kept for the process's life, bounds both the work and the memory.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Mutex, OnceLock};

type Job = Box<dyn FnOnce() + Send>;

fn pool() -> &'static Mutex<Sender<Job>> {
    static POOL: OnceLock<Mutex<Sender<Job>>> = OnceLock::new();
    POOL.get_or_init(|| {
        let (tx, rx) = channel::<Job>();
        let rx = std::sync::Arc::new(Mutex::new(rx));
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        for i in 0..threads {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("password-{i}"))
                .spawn(move || work(&rx));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password thread");
            }
        }
        Mutex::new(tx)
    })
}

fn work(rx: &Mutex<Receiver<Job>>) {
    loop {
        let job = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(p) => p.into_inner().recv(),
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

/// Runs `f` on a password thread; `None` if the pool is gone (it never stops while the
/// process runs, so only if its threads could not start).
pub async fn run<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = tx.send(f());
    });
    let sent = match pool().lock() {
        Ok(p) => p.send(job),
        Err(p) => p.into_inner().send(job),
    };
    sent.ok()?;
    rx.await.ok()
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn runs_on_the_pool_threads_and_returns() {
        let name = super::run(|| std::thread::current().name().map(str::to_owned)).await;
        assert!(name.flatten().is_some_and(|n| n.starts_with("password-")));
    }
}
