//! `bridge`: the meeting bridge in one binary. `bridge serve` (the default) runs the
//! web UI, signaling and the media plane; `bridge token` prints a join link.
#![forbid(unsafe_code)]

mod api;
mod assets;
mod attendance;
mod cli;
mod error;
mod http_serve;
mod listen;
mod recording;
mod rooms;
mod router;
mod sched;
mod security;
mod serve;
mod tls;
mod ttl;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let result = match cli.command.unwrap_or(cli::Command::Serve(cli.serve)) {
        cli::Command::Token(args) => cli::token(args),
        cli::Command::DemoLinks(args) => cli::print_demo_links(args),
        cli::Command::Serve(args) => serve::main(args),
        cli::Command::Units(cli::UnitsCommand::Import(args)) => sched::units_import(args),
        cli::Command::Users(cli::UsersCommand::Add(args)) => sched::users_add(args),
        cli::Command::Users(cli::UsersCommand::Disable(args)) => sched::users_state(args, true),
        cli::Command::Users(cli::UsersCommand::Enable(args)) => sched::users_state(args, false),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bridge: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
