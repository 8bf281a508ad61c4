//! The template context, documented in docs/templates.md ("Context"):
//!
//! ```text
//! org.name
//! repo.name  repo.owner  repo.full_name  repo.default_branch
//! repo.topics  repo.tags  repo.ecosystems  repo.node_package_manager  repo.private
//! vars.*        global [vars] < entry vars < [[repo]] vars
//! ```

use std::collections::BTreeMap;

use minijinja::Value;

use crate::manifest::Manifest;
use crate::targets::Target;
use crate::workspace::Snapshot;

/// Marker files at the repository root and the ecosystem each one reveals.
const ECOSYSTEM_MARKERS: &[(&str, &str)] = &[
    ("Cargo.toml", "rust"),
    ("package.json", "node"),
    ("pyproject.toml", "python"),
    ("setup.py", "python"),
    ("requirements.txt", "python"),
    ("go.mod", "go"),
];

pub fn ecosystems(snapshot: &Snapshot) -> Vec<&'static str> {
    let mut found: Vec<&'static str> =
        ECOSYSTEM_MARKERS.iter().filter(|(file, _)| snapshot.kind(file).is_some()).map(|(_, eco)| *eco).collect();
    found.dedup();
    found
}

fn node_package_manager(snapshot: &Snapshot) -> Option<&'static str> {
    [("pnpm-lock.yaml", "pnpm"), ("yarn.lock", "yarn"), ("package-lock.json", "npm")]
        .into_iter()
        .find(|(lock, _)| snapshot.kind(lock).is_some())
        .map(|(_, pm)| pm)
        .or_else(|| snapshot.kind("package.json").map(|_| "npm"))
}

/// Build the context for one render. `entry_vars` are the `[[template]]`/`[[file]]` entry's own.
pub fn template_context(
    manifest: &Manifest,
    target: &Target,
    snapshot: &Snapshot,
    entry_vars: &BTreeMap<String, toml::Value>,
) -> Value {
    build(manifest, target, entry_vars, ecosystems(snapshot), node_package_manager(snapshot))
}

/// The same context without reading the repository: `repo.ecosystems` is empty and
/// `repo.node_package_manager` is none. Every key exists, so it serves to check which names a
/// template uses that the context does not define ([`undefined_variables`]).
pub fn context_without_snapshot(
    manifest: &Manifest,
    target: &Target,
    entry_vars: &BTreeMap<String, toml::Value>,
) -> Value {
    build(manifest, target, entry_vars, Vec::new(), None)
}

fn build(
    manifest: &Manifest,
    target: &Target,
    entry_vars: &BTreeMap<String, toml::Value>,
    ecosystems: Vec<&'static str>,
    node_package_manager: Option<&'static str>,
) -> Value {
    let mut vars: BTreeMap<String, toml::Value> = manifest.model.vars.clone();
    vars.extend(entry_vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    vars.extend(target.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    let repo = &target.repo;
    minijinja::context! {
        org => minijinja::context! { name => manifest.model.org.name.clone() },
        repo => minijinja::context! {
            name => repo.id.name.clone(),
            owner => repo.id.owner.clone(),
            full_name => repo.id.full_name(),
            default_branch => repo.default_branch.clone(),
            topics => repo.topics.clone(),
            tags => target.tags.iter().cloned().collect::<Vec<_>>(),
            ecosystems => ecosystems,
            node_package_manager => node_package_manager,
            private => repo.private,
        },
        vars => Value::from(minijinja::value::Serde(&vars)),
    }
}

/// Names `template` reads that `ctx` does not define, sorted: `vars.region`, `repo.nmae`.
///
/// A static analysis (minijinja's `Template::undeclared_variables`, with nested attribute
/// lookups), so a name used only in a branch this repository would not take is still found.
/// Not reported: names the template defines itself (`set`, loop variables, macros), the
/// engine's globals (`range`, `namespace`...), and names the template guards with
/// `is defined`, `is undefined` or the `default` / `d` filter. Not analysed: templates pulled
/// in with `include`, `import` or `extends` (those fail at render time with their line).
pub fn undefined_variables(
    renderer: &crate::render::Renderer,
    template: &minijinja::Template<'_, '_>,
    ctx: &Value,
) -> Vec<String> {
    let source = template.source();
    let mut out: Vec<String> = template
        .undeclared_variables(true)
        .into_iter()
        .filter(|name| {
            let top = name.split('.').next().unwrap_or(name);
            !renderer.is_global(top) && !matches!(top, "loop" | "caller" | "self" | "super" | "varargs" | "kwargs")
        })
        .filter(|name| !resolves(ctx, name))
        .filter(|name| !guarded(source, name))
        .collect();
    out.sort();
    out
}

fn resolves(ctx: &Value, dotted: &str) -> bool {
    let mut value = ctx.clone();
    for part in dotted.split('.') {
        match value.get_attr(part) {
            Ok(v) if !v.is_undefined() => value = v,
            _ => return false,
        }
    }
    true
}

/// Does the source test `name` (or a prefix of it) with `is defined` / `is undefined`, or give
/// it a fallback with the `default` (`d`) filter?
fn guarded(source: &str, name: &str) -> bool {
    let mut prefixes = vec![name];
    prefixes.extend(name.match_indices('.').map(|(i, _)| &name[..i]));
    prefixes.iter().any(|p| {
        source.match_indices(p).any(|(i, _)| {
            let before_ok =
                source[..i].chars().next_back().is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '.'));
            let rest = source[i + p.len()..].trim_start();
            let rest: String = rest.split_whitespace().collect::<Vec<_>>().join(" ");
            before_ok
                && (rest.starts_with("is defined")
                    || rest.starts_with("is not defined")
                    || rest.starts_with("is undefined")
                    || rest.starts_with("is not undefined")
                    || rest.starts_with("|default")
                    || rest.starts_with("| default")
                    || rest.starts_with("|d(")
                    || rest.starts_with("| d(")
                    || rest.starts_with("|d ")
                    || rest.starts_with("| d ")
                    || rest.starts_with("|d}")
                    || rest.starts_with("| d}"))
        })
    })
}

/// `validate`'s check that every template has what it reads, for every selected repository it
/// applies to: `[[template]]` entries, `[[file]]` entries with `render = true`, and the
/// campaign's title and body (which also see `changed_files`). One diagnostic per template
/// and name, at the entry's `source` (or the campaign key), naming the repositories.
pub fn check_variables(
    manifest: &Manifest,
    selection: &crate::targets::Selection,
    renderer: &crate::render::Renderer,
) -> Vec<crate::diagnostic::Diagnostic> {
    use serde_spanned::Spanned;
    let owner = &manifest.model.org.name;
    let star = [Spanned::new(0..0, "*".to_string())];
    // (template name, what errors show, span, selectors, entry vars)
    type Entry<'a> = (String, String, std::ops::Range<usize>, &'a [Spanned<String>], &'a BTreeMap<String, toml::Value>);
    let mut entries: Vec<Entry<'_>> = Vec::new();
    for t in &manifest.model.templates {
        let name = t.source.get_ref().clone();
        entries.push((name.clone(), format!("templates/{name}"), t.source.span(), t.repos.as_slice(), &t.vars));
    }
    for f in &manifest.model.files {
        if let (Some(src), true) = (&f.source, f.render) {
            let name = format!("files/{}", src.get_ref());
            entries.push((name.clone(), name, src.span(), f.repos.as_slice(), &f.vars));
        }
    }
    let campaign = manifest.campaign();
    let mut campaign_vars = BTreeMap::new();
    campaign_vars.insert("changed_files".to_string(), toml::Value::Array(Vec::new()));
    for (name, key, text) in
        [("campaign.title", "[campaign] title", &campaign.title), ("campaign.body", "[campaign] body", &campaign.body)]
    {
        entries.push((name.to_string(), key.to_string(), text.span(), &star[..], &campaign_vars));
    }
    let mut problems = Vec::new();
    for (name, shown, span, repos, vars) in entries {
        let Ok(template) = renderer.template(&name) else { continue }; // compile errors are reported already
        let mut missing: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for target in &selection.targets {
            if !selection.applies(repos, owner, target) {
                continue;
            }
            let ctx = context_without_snapshot(manifest, target, vars);
            for var in undefined_variables(renderer, &template, &ctx) {
                missing.entry(var).or_default().push(target.repo.id.full_name());
            }
        }
        for (var, repos) in missing {
            let list = match repos.len() {
                1..=3 => repos.join(", "),
                n => format!("{} and {} more", repos[..3].join(", "), n - 3),
            };
            let help = match var.strip_prefix("vars.") {
                Some(key) => format!(
                    "define `{}` under [vars], in the entry's vars or in a [[repo]] rule's vars, or guard it with `is defined` or `| default(...)`",
                    key.split('.').next().unwrap_or(key)
                ),
                None => "check the spelling; the template context is listed in docs/templates.md, section \"Context\""
                    .into(),
            };
            problems.push(
                crate::diagnostic::Diagnostic::at_span(
                    &manifest.path,
                    &manifest.source,
                    span.clone(),
                    format!("{shown} uses `{var}`, which is undefined for {list}"),
                )
                .with_help(help),
            );
        }
    }
    problems
}
