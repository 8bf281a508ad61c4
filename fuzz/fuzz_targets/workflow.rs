//! The workflow parser, every audit rule and `audit --fix` on arbitrary text: no panic, no stack
//! overflow; a fix, when one is made, must give a file that parses again.
#![no_main]

use convoy::policy::audit::Policy;
use convoy::policy::fix::fix_repo;
use convoy::workflow::files::SourceFile;
use convoy::workflow::uses::PinMap;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = convoy::workflow::parse(&String::from_utf8_lossy(data), false);
    let files = [SourceFile { path: ".github/workflows/ci.yml".into(), bytes: data.to_vec() }];
    let policy = Policy::default_rules();
    let _ = policy.audit_repo("fuzz/repo", &files, &|_| false);
    let fixed = fix_repo(&policy, "fuzz/repo", &files, &|_| false, &PinMap::new());
    for file in fixed.files {
        assert!(convoy::workflow::parse(&file.text, false).is_ok(), "a fixed file must parse: {:?}", file.text);
    }
});
