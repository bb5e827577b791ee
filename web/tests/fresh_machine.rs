//! A fresh machine has the Rust toolchain and gcc, nothing else: `cargo run --release` must
//! build there. These checks read the dependency graph that cargo resolves from
//! Cargo.lock, so a dependency that brings CMake, OpenSSL's headers or a system library back
//! fails here, on a development machine that happens to have them installed.

use std::process::Command;

fn cargo_tree(args: &[&str]) -> (bool, String, String) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .args(["tree", "--locked", "--offline"])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("running cargo tree");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Who depends on `package` in the graph `args` selects, or `None` when nothing does.
fn dependents(args: &[&str], package: &str) -> Option<String> {
    let mut all = args.to_vec();
    all.extend(["-i", package]);
    let (ok, stdout, stderr) = cargo_tree(&all);
    if ok {
        return (!stdout.trim().is_empty()).then_some(stdout);
    }
    // Cargo's answer when the package is nowhere in the lock file.
    assert!(
        stderr.contains("did not match any packages"),
        "cargo tree failed: {stderr}"
    );
    None
}

#[test]
fn the_bridge_binary_builds_without_cmake() {
    // The check the README promises: `cargo run --release` needs no cmake.
    let found = dependents(&["-p", "bridge-web", "-e", "normal,build"], "cmake");
    assert!(
        found.is_none(),
        "cmake is back in the bridge's build:\n{found:?}"
    );
}

#[test]
fn no_crate_of_the_workspace_needs_cmake_or_system_headers() {
    // Tests and benchmarks included: scripts/test installs no -dev package either.
    for package in ["cmake", "openssl-sys", "aws-lc-sys", "pq-sys"] {
        let found = dependents(&["--workspace", "-e", "all"], package);
        assert!(
            found.is_none(),
            "{package} needs a tool or headers a fresh machine lacks:\n{found:?}"
        );
    }
}

#[test]
fn sqlite_is_compiled_in_not_taken_from_the_system() {
    let (ok, stdout, stderr) =
        cargo_tree(&["-p", "bridge-web", "-e", "features", "-i", "libsqlite3-sys"]);
    assert!(ok, "cargo tree failed: {stderr}");
    assert!(
        stdout.contains("libsqlite3-sys feature \"bundled\""),
        "SQLite must be the bundled build (no libsqlite3-dev on a fresh machine):\n{stdout}"
    );
}
