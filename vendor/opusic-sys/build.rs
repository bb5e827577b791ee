//! Builds libopus from opus/ with the `cc` crate: a fresh machine has gcc but no cmake.
//!
//! The source lists are read from libopus' own `*_sources.mk` files (the lists its
//! autotools and meson builds use), so updating the vendored sources needs no change here.
//! The build is libopus' float configuration without run-time CPU dispatch and without
//! the DNN extensions (DRED, OSCE, deep PLC): what the recorder's mixer and the test
//! clients need, from C files that compile anywhere gcc does.

use std::path::{Path, PathBuf};

/// The variables of the `.mk` files that a float build without SIMD dispatch compiles.
const SOURCE_LISTS: &[(&str, &str)] = &[
    ("celt_sources.mk", "CELT_SOURCES"),
    ("silk_sources.mk", "SILK_SOURCES"),
    ("silk_sources.mk", "SILK_SOURCES_FLOAT"),
    ("opus_sources.mk", "OPUS_SOURCES"),
    ("opus_sources.mk", "OPUS_SOURCES_FLOAT"),
];

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let opus = root.join("opus");
    println!("cargo:rerun-if-changed=opus");
    println!("cargo:rerun-if-changed=build.rs");

    let version = std::fs::read_to_string(opus.join("package_version"))
        .ok()
        .and_then(|s| {
            s.trim()
                .strip_prefix("PACKAGE_VERSION=")
                .map(|v| v.trim_matches('"').to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());

    let mut build = cc::Build::new();
    for (file, var) in SOURCE_LISTS {
        for src in mk_list(&opus.join(file), var) {
            build.file(opus.join(src));
        }
    }
    build
        .include(opus.join("include"))
        .include(opus.join("celt"))
        .include(opus.join("silk"))
        .include(opus.join("silk/float"))
        .include(opus.join("src"))
        .define("OPUS_BUILD", None)
        // C99 variable-length arrays for libopus' scratch buffers, as its CMake build
        // chooses for gcc.
        .define("VAR_ARRAYS", None)
        .define("HAVE_LRINTF", None)
        .define("HAVE_LRINT", None)
        // libopus' default: cheap assertions on internal invariants stay on in release.
        .define("ENABLE_HARDENING", None)
        .define("PACKAGE_VERSION", format!("\"{version}\"").as_str())
        .flag_if_supported("-std=gnu99")
        .flag_if_supported("-fno-math-errno")
        .warnings(false)
        // Release speed even in dev builds: the tests encode and decode real audio.
        .opt_level(2)
        .compile("opus");
}

/// The file names of one `VAR = a.c \ b.c` list of a make include file.
fn mk_list(path: &Path, var: &str) -> Vec<String> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if !inside {
            if let Some(rest) = line.strip_prefix(var) {
                if rest.trim_start().starts_with('=') {
                    let after = rest.trim_start().trim_start_matches('=');
                    out.extend(words(after));
                    inside = line.ends_with('\\');
                }
            }
            continue;
        }
        out.extend(words(line));
        inside = line.ends_with('\\');
    }
    assert!(!out.is_empty(), "{var} not found in {}", path.display());
    out
}

fn words(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split_whitespace()
        .filter(|w| *w != "\\")
        .map(str::to_owned)
}
