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
use super::versions::{is_breaking, lower_bound, parse_req};

/// The requirement a crate should have everywhere, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub req: String,
    pub reason: String,
}

/// What the rules ask for, crate by crate, across the org; and rules that could not be applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targets {
    pub wanted: BTreeMap<String, Wanted>,
    pub problems: Vec<String>,
}

/// Work out the wanted requirement of each crate the rules cover, from every repository's uses.
pub fn targets(config: &CargoAlign, org: &[RepoDeps]) -> Targets {
    let mut out = Targets::default();
    let ignored = |name: &str| config.ignore.iter().any(|i| i.get_ref() == name);
    if config.org_crates {
        for p in org.iter().flat_map(|r| &r.packages) {
            let Some(version) = &p.version else { continue };
            if !p.publish || ignored(&p.name) || config.crates.contains_key(&p.name) {
                continue;
            }
            out.wanted.insert(
                p.name.clone(),
                Wanted { req: version.clone(), reason: format!("published by {} at {version}", p.repo) },
            );
        }
    }
    for (name, rule) in &config.crates {
        if ignored(name) {
            continue;
        }
        let rule = rule.get_ref().trim();
        if rule == "highest" {
            let highest = org
                .iter()
                .flat_map(|r| &r.uses)
                .filter(|u| u.name == *name && matches!(u.source, DepSource::Registry { .. }))
                .filter_map(|u| u.req.as_deref().and_then(|r| parse_req(r).map(|p| (lower_bound(&p), r.to_string()))))
                .max();
            match highest {
                Some((_, req)) => {
                    out.wanted
                        .insert(name.clone(), Wanted { req, reason: "the highest requirement in the org".into() });
                }
                None => out.problems.push(format!("`{name} = \"highest\"`: no repository depends on {name}")),
            }
        } else if parse_req(rule).is_some() {
            out.wanted.insert(name.clone(), Wanted { req: rule.to_string(), reason: "pinned in [align.cargo]".into() });
        } else {
            out.problems.push(format!("`{name} = \"{rule}\"` is neither \"highest\" nor a version requirement"));
        }
    }
    out
}

/// One manifest after alignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditedManifest {
    pub manifest: String,
    pub text: String,
    /// `serde 1.0.100 → 1.0.228 ([dependencies])`, one per change.
    pub changes: Vec<String>,
}

/// The outcome for one repository.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepoAlignment {
    pub manifests: Vec<EditedManifest>,
    /// Changes the rules asked for but that were not made, and why.
    pub skipped: Vec<String>,
    /// `(crate, new requirement)` per change, for the lockfile update.
    pub changed: Vec<(String, String)>,
}

/// Align one repository: `texts` maps each manifest path to its current text.
pub fn align_repo(
    config: &CargoAlign,
    targets: &Targets,
    deps: &RepoDeps,
    texts: &BTreeMap<String, String>,
) -> RepoAlignment {
    let mut out = RepoAlignment::default();
    let mut by_manifest: BTreeMap<&str, Vec<(&DepUse, &Wanted)>> = BTreeMap::new();
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
        if current.trim() == wanted.req {
            continue;
        }
        let (Some(from), Some(to)) = (parse_req(current), parse_req(&wanted.req)) else {
            out.skipped.push(format!("{} {}: `{current}` is not a requirement convoy can read", u.manifest, u.name));
            continue;
        };
        if lower_bound(&to) < lower_bound(&from) && wanted.reason.starts_with("the highest") {
            continue;
        }
        if is_breaking(&from, &to) && !config.allow_breaking {
            out.skipped.push(format!(
                "{} {}: `{current}` → `{}` crosses a semver-incompatible boundary (allow_breaking = false)",
                u.manifest, u.name, wanted.req
            ));
            continue;
        }
        by_manifest.entry(u.manifest.as_str()).or_default().push((u, wanted));
    }
    for (manifest, changes) in by_manifest {
        let Some(text) = texts.get(manifest) else {
            out.skipped.push(format!("{manifest}: not readable"));
            continue;
        };
        match edit_manifest(text, &changes) {
            Ok((new_text, done)) => {
                for (u, w) in &changes {
                    out.changed.push((u.name.clone(), w.req.clone()));
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
fn edit_manifest(text: &str, changes: &[(&DepUse, &Wanted)]) -> Result<(String, Vec<String>), String> {
    let doc = toml_edit::Document::parse(text).map_err(|e| format!("does not parse: {e}"))?;
    let mut splices: Vec<(Range<usize>, String)> = Vec::new();
    let mut done = Vec::new();
    for (u, wanted) in changes {
        let span = version_span(doc.as_table(), u)
            .ok_or_else(|| format!("cannot find {} in [{}]", u.key, u.table.join(".")))?;
        let raw = &text[span.clone()];
        let quote =
            raw.chars().next().filter(|c| *c == '"' || *c == '\'').ok_or("the requirement is not a plain string")?;
        if raw.len() < 2 || !raw.ends_with(quote) || raw.starts_with("\"\"\"") || raw.starts_with("'''") {
            return Err(format!("{}: the requirement is not a one-line string", u.key));
        }
        splices.push((span, format!("{quote}{}{quote}", wanted.req)));
        done.push(format!(
            "{} {} → {} ([{}])",
            u.name,
            u.req.as_deref().unwrap_or_default(),
            wanted.req,
            u.table.join(".")
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

/// The span of the requirement string of `u`: the value itself for `name = "1"`, or its
/// `version` key for the inline-table and table forms.
fn version_span(root: &toml_edit::Table, u: &DepUse) -> Option<Range<usize>> {
    let mut item: &toml_edit::Item = root.get(u.table.first()?)?;
    for key in &u.table[1..] {
        item = item.get(key)?;
    }
    let entry = item.get(&u.key)?;
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
        assert_eq!(out.changed.len(), 4);

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
        assert!(out.skipped[0].contains("semver-incompatible"), "{:?}", out.skipped);
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
        let cfg = config(&[("serde", "highest"), ("nope", "highest"), ("bad", "one point oh")]);
        let t = targets(&cfg, &[a, b]);
        assert_eq!(t.wanted["serde"].req, "1.0.228");
        assert_eq!(t.wanted["acme-core"].req, "2.3.1");
        assert!(t.wanted["acme-core"].reason.contains("acme/core"));
        assert_eq!(t.problems.len(), 2, "{:?}", t.problems);
    }
}
