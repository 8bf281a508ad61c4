//! The template engine: minijinja, sandboxed and strict.
//!
//! - Templates load only from `templates/` beside the manifest: the loader refuses absolute
//!   paths, `..` and symlinks, and minijinja itself has no file-system or network access.
//! - Undefined values are errors (strict mode), so a typo in a variable name fails the repo
//!   with the template name and line instead of rendering an empty string.
//! - No auto-escaping: minijinja would JSON-escape `*.yml` output by default, which is wrong for
//!   workflow files.
//! - Blocks trim their newline and leading indentation (`trim_blocks`, `lstrip_blocks`), and the
//!   file's trailing newline is kept: YAML written by convoy looks hand-written.
//! - Bounded: fuel caps the steps, a buffer caps the output at [`MAX_OUTPUT`], and in the
//!   binary every render runs in a child process with capped memory ([`sandbox`]), because a
//!   template can build huge values in a few steps without writing anything.

pub mod sandbox;

use std::path::Path;

use minijinja::syntax::SyntaxConfig;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};

use crate::workspace::paths::RepoPath;

/// A template that failed to load, compile or render, with where.
#[derive(Debug, Clone, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[error("{location}: {message}")]
pub struct TemplateError {
    /// `templates/ci.yml.j2:12` (line when known).
    pub location: String,
    pub message: String,
}

impl TemplateError {
    fn from_minijinja(display_prefix: &str, fallback_name: &str, err: &minijinja::Error) -> Self {
        let name = err.name().unwrap_or(fallback_name);
        let location = match err.line() {
            Some(line) => format!("{display_prefix}{name}:{line}"),
            None => format!("{display_prefix}{name}"),
        };
        let mut message = match err.detail() {
            Some(detail) => format!("{}: {detail}", err.kind()),
            None => err.kind().to_string(),
        };
        // An error inside an included template is wrapped: report the innermost cause too.
        let mut source = std::error::Error::source(err);
        while let Some(s) = source {
            if let Some(inner) = s.downcast_ref::<minijinja::Error>() {
                let inner_name = inner.name().unwrap_or("?");
                let line = inner.line().map(|l| format!(":{l}")).unwrap_or_default();
                message
                    .push_str(&format!(" (in {display_prefix}{inner_name}{line}: {})", inner.detail().unwrap_or("")));
            }
            source = s.source();
        }
        TemplateError { location, message }
    }
}

/// The engine shared by every render of one run.
pub struct Renderer {
    env: Environment<'static>,
    /// What a render process needs to build the same engine: `templates/`, the templates
    /// registered with [`Renderer::add`], and the output bound ([`MAX_OUTPUT`], lowered in tests).
    setup: sandbox::Setup,
    /// [`sandbox::Setup::key`] of `setup`, kept current by [`Renderer::add`].
    key: u64,
}

impl Renderer {
    /// Templates are looked up in `templates_dir`.
    pub fn new(templates_dir: &Path) -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        if let Ok(syntax) =
            SyntaxConfig::builder().trim_blocks(true).lstrip_blocks(true).keep_trailing_newline(true).build()
        {
            env.set_syntax(syntax);
        }
        // Bound runaway templates (a recursive macro, a huge loop) instead of hanging a run.
        env.set_fuel(Some(50_000_000));
        let root = templates_dir.to_path_buf();
        env.set_loader(move |name| load_sandboxed(&root, name));
        let setup =
            sandbox::Setup { templates_dir: templates_dir.to_path_buf(), sources: Vec::new(), max_output: MAX_OUTPUT };
        let key = setup.key();
        Renderer { env, setup, key }
    }

    /// The engine a render process builds for a job: the same as its caller's.
    fn from_setup(setup: &sandbox::Setup) -> Self {
        let mut renderer = Renderer::new(&setup.templates_dir);
        for (name, source) in &setup.sources {
            // It compiled in the caller; an error here surfaces again when it is rendered.
            let _ = renderer.add(name, source.clone());
        }
        renderer.setup.max_output = setup.max_output;
        renderer.key = renderer.setup.key();
        renderer
    }

    /// Register a template that does not come from `templates/` (rendered `[[file]]` sources,
    /// PR titles and bodies). `name` is what errors will show.
    pub fn add(&mut self, name: &str, source: String) -> Result<(), TemplateError> {
        self.env
            .add_template_owned(name.to_string(), source.clone())
            .map_err(|e| TemplateError::from_minijinja("", name, &e))?;
        self.setup.sources.retain(|(n, _)| n != name);
        self.setup.sources.push((name.to_string(), source));
        self.key = self.setup.key();
        Ok(())
    }

    /// Load and compile `name` (and what it includes lazily at render time).
    pub fn compile(&self, name: &str) -> Result<(), TemplateError> {
        self.env.get_template(name).map(|_| ()).map_err(|e| TemplateError::from_minijinja(prefix(name), name, &e))
    }

    /// Render `name` with `ctx`. The output is written into a buffer that refuses to grow past
    /// [`MAX_OUTPUT`] bytes, so a template that multiplies its output (nested loops, a macro
    /// calling itself twice) fails with a clear error instead of exhausting memory; fuel bounds
    /// the number of steps; in the binary, the render runs in a process whose memory is capped
    /// ([`sandbox`]), so values a template builds without writing them are bounded too.
    pub fn render(&self, name: &str, ctx: &Value) -> Result<String, TemplateError> {
        if sandbox::enabled() {
            // Compile here first: a syntax error is reported the same way in both modes, and a
            // template that does not compile costs no process round trip.
            self.template(name)?;
            return sandbox::render(&self.setup, self.key, name, ctx);
        }
        self.render_here(name, ctx)
    }

    /// Render in this process (what a render process does for its caller).
    fn render_here(&self, name: &str, ctx: &Value) -> Result<String, TemplateError> {
        let template =
            self.env.get_template(name).map_err(|e| TemplateError::from_minijinja(prefix(name), name, &e))?;
        let mut out = Bounded { buf: Vec::new(), max: self.setup.max_output };
        if let Err(e) = template.render_captured_to(ctx, &mut out) {
            // The buffer is the only thing written to: a write failure is the bound.
            if e.kind() == minijinja::ErrorKind::WriteFailure {
                return Err(TemplateError {
                    location: format!("{}{name}", prefix(name)),
                    message: format!(
                        "the rendered output is larger than {} bytes, the limit for one rendered file",
                        self.setup.max_output
                    ),
                });
            }
            return Err(TemplateError::from_minijinja(prefix(name), name, &e));
        }
        String::from_utf8(out.buf).map_err(|e| TemplateError {
            location: format!("{}{name}", prefix(name)),
            message: format!("the rendered output is not UTF-8: {e}"),
        })
    }

    /// Is `name` one of the engine's globals (`range`, `dict`, `namespace`...)?
    pub fn is_global(&self, name: &str) -> bool {
        self.env.globals().any(|(n, _)| n == name)
    }

    /// The template named `name`, compiled (for static checks such as undeclared variables).
    pub fn template(&self, name: &str) -> Result<minijinja::Template<'_, '_>, TemplateError> {
        self.env.get_template(name).map_err(|e| TemplateError::from_minijinja(prefix(name), name, &e))
    }

    /// Register `files/<rel>` (a `[[file]]` with `render = true`) as a template, read through the
    /// same containment checks as validation ([`crate::workspace::paths::read_contained`]).
    pub fn add_file(&mut self, files_dir: &Path, rel: &str) -> Result<(), TemplateError> {
        let name = format!("files/{rel}");
        let fail = |message: String| TemplateError { location: name.clone(), message };
        let path = RepoPath::parse(rel).map_err(&fail)?;
        let bytes = crate::workspace::paths::read_contained(files_dir, "files", &path).map_err(&fail)?;
        let text =
            String::from_utf8(bytes).map_err(|e| fail(format!("not UTF-8 text ({e}), so it cannot be rendered")))?;
        self.add(&name, text)
    }
}

/// The most bytes one render may produce: 10 MiB, far above any workflow or config file.
pub const MAX_OUTPUT: usize = 10 * 1024 * 1024;

/// A writer that takes at most `max` bytes and then fails with `FileTooLarge`.
struct Bounded {
    buf: Vec<u8>,
    max: usize,
}

impl std::io::Write for Bounded {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() + data.len() > self.max {
            return Err(std::io::Error::new(std::io::ErrorKind::FileTooLarge, "rendered output over the limit"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Names registered with [`Renderer::add`] carry their own prefix (`files/x`, `campaign.title`);
/// loader names are relative to `templates/`.
fn prefix(name: &str) -> &'static str {
    if name.starts_with("files/") || name.starts_with("campaign.") { "" } else { "templates/" }
}

fn load_sandboxed(root: &Path, name: &str) -> Result<Option<String>, minijinja::Error> {
    let refuse = |why: String| Err(minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, why));
    let rel = match RepoPath::parse(name) {
        Ok(p) => p,
        Err(e) => return refuse(format!("template name refused: {e}; templates load only from templates/")),
    };
    match crate::workspace::paths::read_contained(root, "templates", &rel) {
        Ok(bytes) => String::from_utf8(bytes).map(Some).map_err(|e| {
            minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                format!("templates/{rel} is not UTF-8 text: {e}"),
            )
        }),
        Err(e) if e.ends_with("does not exist") => Ok(None),
        Err(e) => refuse(format!("{e}; the sandbox refuses it")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn renderer(files: &[(&str, &str)]) -> (tempfile::TempDir, Renderer) {
        let dir = tempfile::tempdir().unwrap();
        for (name, body) in files {
            let p = dir.path().join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, body).unwrap();
        }
        let r = Renderer::new(dir.path());
        (dir, r)
    }

    #[test]
    fn strict_undefined_names_template_and_line() {
        let (_d, r) = renderer(&[("a.yml.j2", "ok: 1\nname: {{ repo.nmae }}\n")]);
        let ctx = minijinja::context! { repo => minijinja::context!{ name => "api" } };
        let err = r.render("a.yml.j2", &ctx).unwrap_err();
        assert_eq!(err.location, "templates/a.yml.j2:2");
        assert!(err.message.starts_with("undefined value"), "{}", err.message);
    }

    #[test]
    fn no_escaping_and_trailing_newline_kept() {
        let (_d, r) = renderer(&[("a.yml.j2", "v: {{ x }}\n")]);
        let out = r.render("a.yml.j2", &minijinja::context! { x => "a \"b\" <c>" }).unwrap();
        assert_eq!(out, "v: a \"b\" <c>\n");
    }

    #[test]
    fn include_is_sandboxed() {
        let (d, r) =
            renderer(&[("a.j2", "{% include '../secret' %}"), ("b.j2", "{% include 'part.j2' %}"), ("part.j2", "P")]);
        std::fs::write(d.path().join("../secret"), "s").ok();
        let err = r.render("a.j2", &Value::UNDEFINED).unwrap_err();
        assert!(err.to_string().contains("templates load only from templates/"), "{err}");
        assert_eq!(r.render("b.j2", &Value::UNDEFINED).unwrap(), "P");
    }

    #[cfg(unix)]
    #[test]
    fn include_through_symlink_is_refused() {
        let (d, r) = renderer(&[("a.j2", "{% include 'link.j2' %}")]);
        let outside = tempfile::NamedTempFile::new().unwrap();
        std::os::unix::fs::symlink(outside.path(), d.path().join("link.j2")).unwrap();
        let err = r.render("a.j2", &Value::UNDEFINED).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }

    #[test]
    fn output_is_bounded() {
        let (_d, mut r) = renderer(&[(
            "big.j2",
            "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% else %}0123456789abcdef{% endif %}{% endmacro %}{{ f(16) }}",
        )]);
        r.setup.max_output = 1 << 16;
        let err = r.render("big.j2", &Value::UNDEFINED).unwrap_err();
        assert_eq!(err.location, "templates/big.j2");
        assert_eq!(err.message, "the rendered output is larger than 65536 bytes, the limit for one rendered file");
        r.setup.max_output = 1 << 21;
        assert_eq!(r.render("big.j2", &Value::UNDEFINED).unwrap().len(), 1 << 20);
    }

    #[test]
    fn syntax_error_has_line() {
        let (_d, r) = renderer(&[("bad.j2", "a\n{% if %}\n")]);
        let err = r.compile("bad.j2").unwrap_err();
        assert_eq!(err.location, "templates/bad.j2:2");
    }
}
