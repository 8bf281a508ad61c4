//! `[align.cargo]`: which requirement each crate should have, and the edits that put it there.
//!
//! Edits splice the new requirement into the exact bytes of the old one (the span `toml_edit`
//! reports for the string, quotes kept), so comments, ordering, inline-versus-table form,
//! quoting and `version` beside `features` all stay as they were. A `workspace = true` use is
//! never edited itself: its requirement lives in `[workspace.dependencies]`, which is one use of
//! its own and is edited once.

use std::collections::BTreeMap;
use std::ops::Range;

use super::config::CargoAlign;
use super::model::{DepKind, DepSource, DepUse, RepoDeps};
use super::versions::{compatible, lower_bound, numbers, parse_req, retarget, simple};

/// Where a wanted version comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A version given in `[align.cargo] crates`.
    Pinned,
    /// `"highest"`: the highest caret or tilde requirement in the org.
    Highest,
    /// A crate the org publishes (`org_crates`).
    OrgCrate,
}

/// The version a crate should be required at everywhere, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// Version numbers (`1.5`, `1.0.228`): each use keeps its own operator
    /// ([`super::versions::retarget`]).
    pub req: String,
    /// Where the version came from, for plans and pull request bodies (`the highest requirement
    /// in the org: acme/api Cargo.toml`, `released by acme/core as tag v2.3.1`).
    pub reason: String,
    pub origin: Origin,
}

/// What the rules ask for, crate by crate, across the org; and rules that could not be applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targets {
    pub wanted: BTreeMap<String, Wanted>,
    pub problems: Vec<String>,
}

/// Work out the wanted version of each crate the rules cover, from every repository's uses.
/// `org` must hold every repository the manifest selects (not only the ones a run writes), so
/// that the targets do not depend on `--repo`.
pub fn targets(config: &CargoAlign, org: &[RepoDeps]) -> Targets {
    let mut out = Targets::default();
    let ignored = |name: &str| config.ignore.iter().any(|i| i.get_ref() == name);
    if config.org_crates {
        for p in org.iter().flat_map(|r| &r.packages) {
            let Some(version) = &p.version else { continue };
            if !p.publish || p.refused.is_some() || ignored(&p.name) || config.crates.contains_key(&p.name) {
                continue;
            }
            if semver::Version::parse(version).is_err() {
                continue;
            }
            // Two repositories publishing one name: the higher version wins, and it is said.
            let reason = format!("the manifest of {} ({}) says {version}", p.repo, p.manifest);
            let newer = out.wanted.get(&p.name).is_none_or(|w| {
                parse_req(&w.req).map(|r| lower_bound(&r)) < parse_req(version).map(|r| lower_bound(&r))
            });
            if newer {
                out.wanted.insert(p.name.clone(), Wanted { req: version.clone(), reason, origin: Origin::OrgCrate });
            }
        }
    }
    for (name, rule) in &config.crates {
        if ignored(name) {
            continue;
        }
        let rule = rule.get_ref().trim();
        if rule == "highest" {
            // Exact pins, ranges and wildcards say something about one repository, not a
            // version for the others: only caret and tilde requirements count.
            let highest = org
                .iter()
                .flat_map(|r| &r.uses)
                .filter(|u| u.name == *name && matches!(u.source, DepSource::Registry { .. }))
                .filter_map(|u| {
                    let (_, c) = simple(u.req.as_deref()?).ok()?;
                    (c.op != semver::Op::Exact).then(|| (super::versions::comparator_range(&c).low, numbers(&c), u))
                })
                .max_by(|a, b| (&a.0, a.1.len()).cmp(&(&b.0, b.1.len())));
            match highest {
                Some((_, version, u)) => {
                    let reason = format!(
                        "the highest requirement in the org: `{}` in {} {}",
                        u.req.as_deref().unwrap_or_default().trim(),
                        u.repo,
                        u.manifest
                    );
                    out.wanted.insert(name.clone(), Wanted { req: version, reason, origin: Origin::Highest });
                }
                None => out
                    .problems
                    .push(format!("`{name} = \"highest\"`: no repository has a caret or tilde requirement on {name}")),
            }
        } else {
            match simple(rule) {
                Ok((prefix, c)) if prefix.trim().is_empty() || prefix.trim() == "^" => {
                    out.wanted.insert(
                        name.clone(),
                        Wanted { req: numbers(&c), reason: "given in [align.cargo]".into(), origin: Origin::Pinned },
                    );
                }
                _ => out.problems.push(format!(
                    "`{name} = \"{rule}\"` is neither \"highest\" nor a version (\"1.5\", \"1.0.228\"); each use keeps its own operator"
                )),
            }
        }
    }
    out
}

/// One manifest after alignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditedManifest {
    pub manifest: String,
    pub text: String,
    /// `serde 1.0.100 → 1.0.228 ([dependencies]; the highest requirement in the org: ...)`,
    /// one per change.
    pub changes: Vec<String>,
}

/// One requirement changed, for the lockfile update.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Changed {
    /// The manifest it is written in.
    pub manifest: String,
    /// The table path and key of the entry (as in [`DepUse`]).
    pub table: Vec<String>,
    pub key: String,
    pub name: String,
    pub old: String,
    pub new: String,
}

/// The outcome for one repository.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepoAlignment {
    pub manifests: Vec<EditedManifest>,
    /// Changes the rules asked for but that were not made, and why.
    pub skipped: Vec<String>,
    /// One per requirement changed.
    pub changed: Vec<Changed>,
}

/// Align one repository: `texts` maps each manifest path to its current text.
///
/// Per use: the operator is kept ([`retarget`]); exact pins, ranges, comparisons and wildcards
/// are listed for a person; a change after which no version satisfies both the old and the new
/// requirement needs `allow_breaking` ([`compatible`], the question `deps skew` asks); and a
/// requirement is never lowered to follow `"highest"` or an org crate's release.
pub fn align_repo(
    config: &CargoAlign,
    targets: &Targets,
    deps: &RepoDeps,
    texts: &BTreeMap<String, String>,
) -> RepoAlignment {
    let mut out = RepoAlignment::default();
    let mut by_manifest: BTreeMap<&str, Vec<(&DepUse, String, &Wanted)>> = BTreeMap::new();
    for u in &deps.uses {
        let Some(wanted) = targets.wanted.get(&u.name) else { continue };
        // Inherited uses follow [workspace.dependencies]; path and git dependencies are local
        // decisions (a path dependency inside the repository is the crate itself).
        if matches!(u.source, DepSource::Workspace | DepSource::Path { .. } | DepSource::Git { .. }) {
            continue;
        }
        if u.kind == DepKind::Dev && !config.dev_dependencies {
            continue;
        }
        // The crate's own manifest does not depend on itself; a package of this repository
        // following its own release is not "aligned".
        if u.package.as_deref() == Some(u.name.as_str()) {
            continue;
        }
        let Some(current) = &u.req else { continue };
        let Some((_, target)) = simple(&wanted.req).ok() else { continue };
        let at = format!("{}:{} {}", u.manifest, u.line, u.name);
        let new = match retarget(current, &target, config.move_exact_pins) {
            Ok(new) => new,
            Err(why) => {
                // Nothing to say when the requirement already allows exactly the target.
                if current.trim() != wanted.req {
                    out.skipped.push(format!("{at}: `{}` not moved to {}: {why}", current.trim(), wanted.req));
                }
                continue;
            }
        };
        let (Some(from), Some(to)) = (parse_req(current), parse_req(&new)) else { continue };
        // The same versions allowed: nothing to change (`^1.5` and `1.5.0`).
        if super::versions::range(&from) == super::versions::range(&to) {
            continue;
        }
        if lower_bound(&to) < lower_bound(&from) && wanted.origin != Origin::Pinned {
            continue;
        }
        if !compatible(&[&from, &to]) && !config.allow_breaking {
            out.skipped.push(format!(
                "{at}: `{}` → `{new}`: no version satisfies both (allow_breaking = false)",
                current.trim()
            ));
            continue;
        }
        by_manifest.entry(u.manifest.as_str()).or_default().push((u, new, wanted));
    }
    for (manifest, changes) in by_manifest {
        let Some(text) = texts.get(manifest) else {
            out.skipped.push(format!("{manifest}: not readable"));
            continue;
        };
        match edit_manifest(text, &changes) {
            Ok((new_text, done)) => {
                for (u, new, _) in &changes {
                    out.changed.push(Changed {
                        manifest: manifest.to_string(),
                        table: u.table.clone(),
                        key: u.key.clone(),
                        name: u.name.clone(),
                        old: u.req.clone().unwrap_or_default(),
                        new: new.clone(),
                    });
                }
                out.manifests.push(EditedManifest { manifest: manifest.to_string(), text: new_text, changes: done });
            }
            Err(e) => out.skipped.push(format!("{manifest}: {e}")),
        }
    }
    out.changed.sort();
    out.changed.dedup();
    out
}

/// Splice every change into `text`; all or nothing.
fn edit_manifest(text: &str, changes: &[(&DepUse, String, &Wanted)]) -> Result<(String, Vec<String>), String> {
    let doc = toml_edit::Document::parse(text).map_err(|e| format!("does not parse: {e}"))?;
    let mut splices: Vec<(Range<usize>, String)> = Vec::new();
    let mut done = Vec::new();
    for (u, new, wanted) in changes {
        let span = version_span(doc.as_table(), &u.table, &u.key)
            .ok_or_else(|| format!("cannot find {} in [{}]", u.key, u.table.join(".")))?;
        let raw = &text[span.clone()];
        let quote =
            raw.chars().next().filter(|c| *c == '"' || *c == '\'').ok_or("the requirement is not a plain string")?;
        if raw.len() < 2 || !raw.ends_with(quote) || raw.starts_with("\"\"\"") || raw.starts_with("'''") {
            return Err(format!("{}: the requirement is not a one-line string", u.key));
        }
        splices.push((span, format!("{quote}{new}{quote}")));
        done.push(format!(
            "{} {} → {} ([{}]; {})",
            u.name,
            u.req.as_deref().unwrap_or_default().trim(),
            new,
            u.table.join("."),
            wanted.reason
        ));
    }
    splices.sort_by_key(|(r, _)| std::cmp::Reverse(r.start));
    let mut out = text.to_string();
    for (range, with) in splices {
        out.replace_range(range, &with);
    }
    // The edit must leave a manifest that still parses, with the new requirements in place.
    toml_edit::Document::parse(out.as_str()).map_err(|e| format!("the edited manifest does not parse: {e}"))?;
    Ok((out, done))
}

/// `text` (a manifest) with the requirement of `c` replaced by `=version`: how a lockfile update
/// makes cargo lock exactly that version (see `run::update_lockfile`). Only ever written to a
/// scratch folder.
pub fn pin_exactly(text: &str, c: &Changed, version: &semver::Version) -> Result<String, String> {
    let doc = toml_edit::Document::parse(text).map_err(|e| format!("{}: does not parse: {e}", c.manifest))?;
    let span = version_span(doc.as_table(), &c.table, &c.key)
        .ok_or_else(|| format!("{}: cannot find {} in [{}]", c.manifest, c.key, c.table.join(".")))?;
    let mut out = text.to_string();
    out.replace_range(span, &format!("\"={version}\""));
    Ok(out)
}

/// The span of the requirement string of `u`: the value itself for `name = "1"`, or its
/// `version` key for the inline-table and table forms.
pub(crate) fn version_span(root: &toml_edit::Table, table: &[String], key: &str) -> Option<Range<usize>> {
    let mut item: &toml_edit::Item = root.get(table.first()?)?;
    for k in &table[1..] {
        item = item.get(k)?;
    }
    let entry = item.get(key)?;
    match entry {
        toml_edit::Item::Value(toml_edit::Value::String(s)) => s.span(),
        toml_edit::Item::Value(toml_edit::Value::InlineTable(t)) => {
            t.get("version")?.as_str().and(t.get("version")?.span())
        }
        toml_edit::Item::Table(t) => match t.get("version")? {
            toml_edit::Item::Value(v @ toml_edit::Value::String(_)) => v.span(),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deps::model::Package;

    fn dep(manifest: &str, table: &[&str], key: &str, req: &str) -> DepUse {
        DepUse {
            repo: "acme/api".into(),
            manifest: manifest.into(),
            package: Some("api".into()),
            table: table.iter().map(|s| s.to_string()).collect(),
            key: key.into(),
            name: key.into(),
            req: Some(req.into()),
            kind: if table.last() == Some(&"dev-dependencies") { DepKind::Dev } else { DepKind::Normal },
            optional: false,
            source: DepSource::Registry { registry: None },
            inherited_req: None,
            line: 1,
        }
    }

    fn config(crates: &[(&str, &str)]) -> CargoAlign {
        CargoAlign {
            crates: crates
                .iter()
                .map(|(k, v)| (k.to_string(), serde_spanned::Spanned::new(0..0, v.to_string())))
                .collect(),
            ..CargoAlign::default()
        }
    }

    const MANIFEST: &str = "[package]\nname = \"api\"\nversion = \"0.1.0\"\n\n[dependencies]\n# serialisation\nserde = { version = \"1.0.100\", features = [\"derive\"] }   # keep\ntokio = '1.30'\n\n[dependencies.regex]\nversion = \"1.5\"\ndefault-features = false\n\n[target.'cfg(unix)'.dependencies]\nlibc = \"0.2.100\"\n\n[dev-dependencies]\nserde = \"1.0.50\"\n";

    #[test]
    fn edits_keep_everything_else() {
        let deps = RepoDeps {
            packages: Vec::new(),
            uses: vec![
                dep("Cargo.toml", &["dependencies"], "serde", "1.0.100"),
                dep("Cargo.toml", &["dependencies"], "tokio", "1.30"),
                dep("Cargo.toml", &["dependencies"], "regex", "1.5"),
                dep("Cargo.toml", &["target", "cfg(unix)", "dependencies"], "libc", "0.2.100"),
                dep("Cargo.toml", &["dev-dependencies"], "serde", "1.0.50"),
            ],
            errors: Vec::new(),
        };
        let cfg = config(&[("serde", "1.0.228"), ("tokio", "1.47"), ("regex", "1.11"), ("libc", "0.2.170")]);
        let t = targets(&cfg, std::slice::from_ref(&deps));
        let texts = [("Cargo.toml".to_string(), MANIFEST.to_string())].into_iter().collect();
        let out = align_repo(&cfg, &t, &deps, &texts);
        assert!(out.skipped.is_empty(), "{:?}", out.skipped);
        let expected = MANIFEST
            .replace("\"1.0.100\"", "\"1.0.228\"")
            .replace("'1.30'", "'1.47'")
            .replace("\"1.5\"", "\"1.11\"")
            .replace("\"0.2.100\"", "\"0.2.170\"")
            .replace("\"1.0.50\"", "\"1.0.228\"");
        assert_eq!(out.manifests[0].text, expected);
        assert_eq!(out.manifests[0].changes.len(), 5);
        assert_eq!(
            out.manifests[0].changes[0], "serde 1.0.100 → 1.0.228 ([dependencies]; given in [align.cargo])",
            "the plan says where the version came from"
        );
        assert_eq!(out.changed.len(), 5);

        let no_dev = CargoAlign { dev_dependencies: false, ..cfg };
        let out = align_repo(&no_dev, &t, &deps, &texts);
        assert!(out.manifests[0].text.contains("[dev-dependencies]\nserde = \"1.0.50\""));
    }

    #[test]
    fn breaking_changes_are_reported_not_made() {
        let deps = RepoDeps {
            packages: Vec::new(),
            uses: vec![dep("Cargo.toml", &["dependencies"], "tokio", "0.2")],
            errors: Vec::new(),
        };
        let cfg = config(&[("tokio", "1")]);
        let t = targets(&cfg, std::slice::from_ref(&deps));
        let texts = [("Cargo.toml".to_string(), "[dependencies]\ntokio = \"0.2\"\n".to_string())].into_iter().collect();
        let out = align_repo(&cfg, &t, &deps, &texts);
        assert!(out.manifests.is_empty());
        assert_eq!(
            out.skipped,
            ["Cargo.toml:1 tokio: `0.2` → `1`: no version satisfies both (allow_breaking = false)"]
        );
        let out = align_repo(&CargoAlign { allow_breaking: true, ..cfg }, &t, &deps, &texts);
        assert_eq!(out.manifests[0].text, "[dependencies]\ntokio = \"1\"\n");
    }

    #[test]
    fn highest_and_org_crates() {
        let a = RepoDeps {
            packages: vec![Package {
                repo: "acme/core".into(),
                manifest: "Cargo.toml".into(),
                name: "acme-core".into(),
                version: Some("2.3.1".into()),
                publish: true,
                refused: None,
                primary: true,
            }],
            uses: vec![dep("Cargo.toml", &["dependencies"], "serde", "1.0.100")],
            errors: Vec::new(),
        };
        let b = RepoDeps {
            packages: Vec::new(),
            uses: vec![
                dep("Cargo.toml", &["dependencies"], "serde", "1.0.228"),
                dep("Cargo.toml", &["dependencies"], "acme-core", "2.1"),
            ],
            errors: Vec::new(),
        };
        let cfg = config(&[("serde", "highest"), ("nope", "highest"), ("bad", "one point oh"), ("ranged", ">=1.2")]);
        let t = targets(&cfg, &[a.clone(), b.clone()]);
        assert_eq!(t.wanted["serde"].req, "1.0.228");
        assert_eq!(t.wanted["serde"].reason, "the highest requirement in the org: `1.0.228` in acme/api Cargo.toml");
        assert_eq!(t.wanted["acme-core"].req, "2.3.1");
        assert!(t.wanted["acme-core"].reason.contains("acme/core"));
        assert_eq!(t.problems.len(), 3, "{:?}", t.problems);
        // A package cargo refuses is no org crate.
        let mut refused = a;
        refused.packages[0].refused = Some("outside its workspace".into());
        assert!(!targets(&cfg, &[refused, b]).wanted.contains_key("acme-core"));
    }

    fn repo(uses: Vec<DepUse>) -> RepoDeps {
        RepoDeps { packages: Vec::new(), uses, errors: Vec::new() }
    }

    fn one(req: &str) -> (RepoDeps, BTreeMap<String, String>) {
        let deps = repo(vec![dep("Cargo.toml", &["dependencies"], "rand", req)]);
        let texts = [("Cargo.toml".to_string(), format!("[dependencies]\nrand = \"{req}\"\n"))].into_iter().collect();
        (deps, texts)
    }

    fn aligned(cfg: &CargoAlign, t: &Targets, req: &str) -> (Option<String>, Vec<String>) {
        let (deps, texts) = one(req);
        let out = align_repo(cfg, t, &deps, &texts);
        (out.manifests.first().map(|m| m.text.clone()), out.skipped)
    }

    #[test]
    fn operators_are_kept_and_exact_pins_and_ranges_left_for_a_person() {
        let cfg = CargoAlign { allow_breaking: true, ..config(&[("rand", "0.8.5")]) };
        let t = targets(&cfg, &[]);
        let text = |req: &str| format!("[dependencies]\nrand = \"{req}\"\n");
        assert_eq!(aligned(&cfg, &t, "~0.8.1").0, Some(text("~0.8.5")));
        assert_eq!(aligned(&cfg, &t, "^0.7").0, Some(text("^0.8.5")));
        assert_eq!(aligned(&cfg, &t, "0.8.1").0, Some(text("0.8.5")));
        let (none, skipped) = aligned(&cfg, &t, "=0.8.1");
        assert_eq!(none, None);
        assert_eq!(
            skipped,
            [
                "Cargo.toml:1 rand: `=0.8.1` not moved to 0.8.5: an exact pin is left for a person (`move_exact_pins = true` moves it and keeps `=`)"
            ]
        );
        let moving = CargoAlign { move_exact_pins: true, ..cfg.clone() };
        assert_eq!(aligned(&moving, &t, "=0.8.1").0, Some(text("=0.8.5")));
        for range in [">=0.7", "<0.9", ">=0.7, <0.9", "0.*"] {
            let (none, skipped) = aligned(&cfg, &t, range);
            assert_eq!(none, None, "{range}");
            assert_eq!(skipped.len(), 1, "{range}: {skipped:?}");
        }
        // Already there in meaning: nothing to change.
        assert_eq!(aligned(&cfg, &t, "^0.8.5"), (None, Vec::new()));
        // A tilde that would leave its minor is a change no version satisfies before and after.
        let strict = CargoAlign { allow_breaking: false, ..cfg };
        assert_eq!(aligned(&strict, &targets(&strict, &[]), "~0.8.1").0, Some(text("~0.8.5")), "both allow 0.8.5");
        let t = targets(&config(&[("rand", "0.9")]), &[]);
        let (none, skipped) = aligned(&strict, &t, "~0.8.1");
        assert_eq!(none, None);
        assert!(skipped[0].contains("no version satisfies both"), "{skipped:?}");
    }

    #[test]
    fn highest_never_copies_an_exact_pin_and_never_lowers() {
        let a = repo(vec![dep("Cargo.toml", &["dependencies"], "rand", "=0.8.9")]);
        let b = repo(vec![dep("Cargo.toml", &["dependencies"], "rand", "~0.8.3")]);
        let c = repo(vec![dep("Cargo.toml", &["dependencies"], "rand", "0.8.1")]);
        let cfg = config(&[("rand", "highest")]);
        let t = targets(&cfg, &[a.clone(), b.clone(), c.clone()]);
        assert_eq!(t.wanted["rand"].req, "0.8.3", "the exact pin does not count");
        // Each use keeps its operator; the pin is left for a person.
        let texts = |req: &str| -> BTreeMap<String, String> {
            [("Cargo.toml".to_string(), format!("[dependencies]\nrand = \"{req}\"\n"))].into_iter().collect()
        };
        let out = align_repo(&cfg, &t, &c, &texts("0.8.1"));
        assert_eq!(out.manifests[0].text, "[dependencies]\nrand = \"0.8.3\"\n");
        let out = align_repo(&cfg, &t, &a, &texts("=0.8.9"));
        assert!(out.manifests.is_empty() && out.skipped[0].contains("exact pin"), "{:?}", out.skipped);
        // A requirement above the highest is never lowered.
        let d = repo(vec![dep("Cargo.toml", &["dependencies"], "rand", "0.8.7")]);
        let t = targets(&cfg, &[b, d.clone()]);
        assert_eq!(t.wanted["rand"].req, "0.8.7");
        let t = Targets {
            wanted: [(
                "rand".to_string(),
                Wanted { req: "0.8.3".into(), reason: "x".into(), origin: Origin::OrgCrate },
            )]
            .into_iter()
            .collect(),
            problems: Vec::new(),
        };
        let out = align_repo(&cfg, &t, &d, &texts("0.8.7"));
        assert!(out.manifests.is_empty() && out.skipped.is_empty(), "{out:?}");
    }
}
