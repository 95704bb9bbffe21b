//! The `wx-session-server` binary: parse the command line, say loudly if this is development
//! mode, build the application and serve it until Ctrl-C or SIGTERM.
//!
//! Exit codes: 0 after a clean shutdown, 2 for a configuration error (e.g. no AppSecret outside
//! development mode), 1 when the store or the listening socket cannot be set up.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;
use wx_session_server::cli::Cli;
use wx_session_server::{build_app, serve, Config, StoreConfig};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let config = match cli.to_config(|name| std::env::var(name).ok()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("wx-session-server: {error}");
            return ExitCode::from(2);
        }
    };
    if config.is_dev() {
        warn_dev_mode();
    }

    let app = match build_app(&config).await {
        Ok(app) => app,
        Err(error) => {
            eprintln!("wx-session-server: {error}");
            return ExitCode::from(1);
        }
    };
    let listener = match TcpListener::bind(cli.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!(
                "wx-session-server: cannot listen on {}: {error}",
                cli.listen
            );
            return ExitCode::from(1);
        }
    };
    // The real address, which differs from --listen when the port was 0.
    let address = listener
        .local_addr()
        .map_or_else(|_| cli.listen.to_string(), |a| a.to_string());
    tracing::info!(
        store = %describe_store(&config),
        users = %config.accounts.database().describe(),
        dev = config.is_dev(),
        token_ttl_secs = config.token_ttl.as_secs(),
        "listening on http://{address}"
    );

    match serve(listener, app, shutdown_signal()).await {
        Ok(()) => {
            tracing::info!("shut down");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("wx-session-server: server error: {error}");
            ExitCode::from(1)
        }
    }
}

/// Development mode accepts made-up logins; make sure nobody mistakes it for a real deployment.
fn warn_dev_mode() {
    eprintln!(
        "\n\
         ************************************************************************\n\
         *  DEVELOPMENT MODE: logins are NOT checked with WeChat.               *\n\
         *  POST /dev/code mints a login code for any user name, and any other  *\n\
         *  code logs in the user \"devtools\". Never expose this server.         *\n\
         *  litemall's dialect of login/check/logout is served under /wx/.      *\n\
         ************************************************************************\n"
    );
    tracing::warn!("development mode: code2Session is simulated, /dev/code is open");
}

/// The store for the startup line, without the Redis password.
fn describe_store(config: &Config) -> String {
    match &config.store {
        StoreConfig::Memory => "memory".into(),
        StoreConfig::Redis(redis) => format!(
            "redis{} {} prefix {:?}",
            if redis.cluster { " cluster" } else { "" },
            redis.redacted_url(),
            redis.prefix
        ),
    }
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM (what `docker stop` and systemd send).
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            // No handler could be installed; only SIGTERM (or a kill) will stop us.
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
