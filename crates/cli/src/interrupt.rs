//! Ctrl-C for long commands (sync, audit import and export): the first one cancels gracefully,
//! after the current batch, keeping what was committed; the second ends the process at once with
//! 130 (128 + SIGINT, what a shell reports for a killed command), as the first one promises.

use portcullis_engine::CancellationToken;

/// A token the first Ctrl-C cancels. The handler is installed before this returns, so a Ctrl-C
/// from then on is never lost to the default action.
pub fn ctrl_c_cancels() -> CancellationToken {
    let cancel = CancellationToken::new();
    let on_ctrl_c = cancel.clone();
    match Interrupts::install() {
        Ok(mut interrupts) => {
            tokio::spawn(async move {
                if interrupts.next().await {
                    // Cancelled before it is said: whoever reads the message can rely on it.
                    on_ctrl_c.cancel();
                    errln!("stopping after the current batch (Ctrl-C again to kill)…");
                }
                if interrupts.next().await {
                    errln!("killed");
                    std::process::exit(130);
                }
            });
        }
        // Without a handler Ctrl-C keeps its default action: the process ends at once.
        Err(e) => tracing::warn!("cannot catch Ctrl-C: {e}"),
    }
    cancel
}

#[cfg(unix)]
struct Interrupts(tokio::signal::unix::Signal);

#[cfg(unix)]
impl Interrupts {
    fn install() -> std::io::Result<Self> {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).map(Self)
    }

    async fn next(&mut self) -> bool {
        self.0.recv().await.is_some()
    }
}

#[cfg(not(unix))]
struct Interrupts;

#[cfg(not(unix))]
impl Interrupts {
    fn install() -> std::io::Result<Self> {
        Ok(Self)
    }

    async fn next(&mut self) -> bool {
        tokio::signal::ctrl_c().await.is_ok()
    }
}
