//! The `org.toml` loader on arbitrary text: it must return a manifest or diagnostics, never
//! panic, overflow its stack or run away with memory or time.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // The manifest folder does not exist: checks that read templates or files report them
    // missing, which is also a path the loader must survive.
    let _ = convoy::manifest::load_str(Path::new("/nonexistent-convoy-fuzz/org.toml"), text.to_string());
});
