//! Pull request bodies as CommonMark (<https://spec.commonmark.org/0.31.2/>), the Markdown
//! GitHub renders PR bodies with (GitHub Flavored Markdown is a superset).
//!
//! The one rule every body writer needs: blocks (paragraphs, headings, lists, HTML comments) are
//! separated by a blank line. Without it, a paragraph written right after a list item is a "lazy
//! continuation line" of that item (CommonMark §5.2, "Lazy continuation line"), so a closing
//! sentence or a "Left for a person" paragraph is glued into the last item. [`Blocks`] builds
//! a body at run time; [`list_body_template`] writes the minijinja template of a body whose lists
//! are only known when each repository is planned (the campaign body is a template, see
//! `[campaign] body`). Tests parse every body with `pulldown-cmark` and check its block structure.

/// A Markdown document built block by block; [`Blocks::finish`] joins the blocks with one blank
/// line and ends the text with a newline.
#[derive(Debug, Default, Clone)]
pub struct Blocks {
    blocks: Vec<String>,
}

impl Blocks {
    pub fn new() -> Self {
        Blocks::default()
    }

    /// A paragraph, a heading, an HTML comment or a thematic break, written as given (trailing
    /// newlines removed; empty text adds nothing).
    pub fn block(&mut self, text: &str) -> &mut Self {
        let text = text.trim_end_matches(['\n', '\r']);
        if !text.trim().is_empty() {
            self.blocks.push(text.to_string());
        }
        self
    }

    /// A bullet list (`- item`), one item per element; nothing for no items. An item of several
    /// lines has its later lines indented into the item.
    pub fn list<I: AsRef<str>>(&mut self, items: impl IntoIterator<Item = I>) -> &mut Self {
        let lines: Vec<String> = items.into_iter().map(|i| list_item(i.as_ref())).collect();
        if !lines.is_empty() {
            self.blocks.push(lines.concat().trim_end_matches('\n').to_string());
        }
        self
    }

    /// The blocks separated by one blank line, with a final newline (empty for no blocks).
    pub fn finish(&self) -> String {
        if self.blocks.is_empty() {
            return String::new();
        }
        self.blocks.join("\n\n") + "\n"
    }
}

/// `- text\n`, with the later lines of `text` indented by two spaces so they stay in the item
/// (CommonMark §5.2: continuation lines are indented to the item's content).
pub fn list_item(text: &str) -> String {
    let text = text.trim_end_matches(['\n', '\r']);
    format!("- {}\n", text.replace('\n', "\n  "))
}

/// The minijinja template text of a body made of: the `intro` paragraph; the list of
/// `vars.<done>`; when `vars.<left>` is not empty, the heading `### <left_heading>` and the list
/// of `vars.<left>`; and the `closing` paragraph. `intro`, `left_heading` and `closing` may hold
/// template expressions (`{{ repo.full_name }}`); `done` and `left` are names of lists of strings.
///
/// Written for the renderer's `trim_blocks` and `lstrip_blocks` (see `crate::render`): every
/// `{% %}` tag stands on a line of its own, which then disappears whole, so the blank lines
/// between blocks are there whatever the lists hold. A list item spanning lines is indented into
/// its item.
pub fn list_body_template(intro: &str, done: &str, left_heading: &str, left: &str, closing: &str) -> String {
    let item = |var: &str| {
        format!("{{% for item in vars.{var} %}}\n- {{{{ item | replace(\"\\n\", \"\\n  \") }}}}\n{{% endfor %}}\n")
    };
    let mut t = String::new();
    t.push_str(intro.trim_end());
    t.push('\n');
    t.push_str(&format!("{{% if vars.{done} %}}\n\n"));
    t.push_str(&item(done));
    t.push_str("{% endif %}\n");
    t.push_str(&format!("{{% if vars.{left} %}}\n\n### {}\n\n", left_heading.trim()));
    t.push_str(&item(left));
    t.push_str("{% endif %}\n\n");
    t.push_str(closing.trim_end());
    t.push('\n');
    t
}

#[cfg(test)]
pub(crate) mod testing {
    //! Block structure of a Markdown text as `pulldown-cmark` (a CommonMark parser) reads it.

    use pulldown_cmark::{Event, Parser, Tag, TagEnd};

    /// One block at the top level of a document, with the text of its inline content.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Block {
        Paragraph(String),
        Heading(String),
        /// The items of a bullet or ordered list, each item's text (nested blocks flattened,
        /// separated by a space).
        List(Vec<String>),
        Html(String),
        Rule,
        Other(String),
    }

    /// The top-level blocks of `markdown`.
    pub fn blocks(markdown: &str) -> Vec<Block> {
        let mut out = Vec::new();
        let mut depth = 0usize;
        let mut text = String::new();
        let mut items: Vec<String> = Vec::new();
        for event in Parser::new(markdown) {
            match event {
                Event::Start(tag) => {
                    if depth == 0 {
                        text.clear();
                        items.clear();
                    }
                    if matches!(tag, Tag::Item) && depth == 1 {
                        items.push(String::new());
                    } else if depth >= 2 && matches!(tag, Tag::Paragraph) {
                        push_text(&mut items, &mut text, " ");
                    }
                    depth += 1;
                }
                Event::End(end) => {
                    depth -= 1;
                    if depth == 0 {
                        let t = text.trim().to_string();
                        out.push(match end {
                            TagEnd::Paragraph => Block::Paragraph(t),
                            TagEnd::Heading(_) => Block::Heading(t),
                            TagEnd::List(_) => Block::List(items.iter().map(|i| i.trim().to_string()).collect()),
                            TagEnd::HtmlBlock => Block::Html(t),
                            other => Block::Other(format!("{other:?}: {t}")),
                        });
                    }
                }
                Event::Rule if depth == 0 => out.push(Block::Rule),
                Event::Text(s) | Event::Code(s) | Event::Html(s) | Event::InlineHtml(s) => {
                    push_text(&mut items, &mut text, &s)
                }
                Event::SoftBreak | Event::HardBreak => push_text(&mut items, &mut text, "\n"),
                _ => {}
            }
        }
        out
    }

    fn push_text(items: &mut [String], text: &mut String, s: &str) {
        match items.last_mut() {
            Some(item) => item.push_str(s),
            None => text.push_str(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{Block, blocks};
    use super::*;

    #[test]
    fn blocks_are_separated_so_nothing_is_glued_into_a_list() {
        let mut b = Blocks::new();
        b.block("Intro.").list(["one", "two\nsecond line"]).block("### Left\n").list(Vec::<String>::new());
        b.block("").block("Closing `x`.");
        let md = b.finish();
        assert_eq!(md, "Intro.\n\n- one\n- two\n  second line\n\n### Left\n\nClosing `x`.\n");
        assert_eq!(
            blocks(&md),
            [
                Block::Paragraph("Intro.".into()),
                Block::List(vec!["one".into(), "two\nsecond line".into()]),
                Block::Heading("Left".into()),
                Block::Paragraph("Closing x.".into()),
            ]
        );
        assert_eq!(Blocks::new().finish(), "");
    }

    #[test]
    fn the_parser_helper_sees_a_glued_paragraph_inside_the_item() {
        // What the bug looked like: the closing line is a lazy continuation of the last item.
        assert_eq!(blocks("- a\n- b\nRun it.\n"), [Block::List(vec!["a".into(), "b\nRun it.".into()])]);
    }

    fn render(template: &str, done: &[&str], left: &[&str]) -> String {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut r = crate::render::Renderer::new(dir.path());
        r.add("campaign.body", template.to_string()).expect("template compiles");
        let ctx = minijinja::context! { repo => minijinja::context! { full_name => "acme/api" }, vars => minijinja::context! { done => done.iter().map(|s| s.to_string()).collect::<Vec<_>>(), left => left.iter().map(|s| s.to_string()).collect::<Vec<_>>() } };
        r.render("campaign.body", &ctx).expect("renders")
    }

    #[test]
    fn the_body_template_keeps_blank_lines_between_blocks_whatever_the_lists_hold() {
        let t = list_body_template("Changes for {{ repo.full_name }}:", "done", "Left for a person", "left", "Run it.");
        let both = render(&t, &["a.yml: pinned", "b.yml: two\nlines"], &["c.yml:3 permissions: needs a person"]);
        assert_eq!(
            blocks(&both),
            [
                Block::Paragraph("Changes for acme/api:".into()),
                Block::List(vec!["a.yml: pinned".into(), "b.yml: two\nlines".into()]),
                Block::Heading("Left for a person".into()),
                Block::List(vec!["c.yml:3 permissions: needs a person".into()]),
                Block::Paragraph("Run it.".into()),
            ],
            "{both}"
        );
        let done_only = render(&t, &["a"], &[]);
        assert_eq!(
            blocks(&done_only),
            [
                Block::Paragraph("Changes for acme/api:".into()),
                Block::List(vec!["a".into()]),
                Block::Paragraph("Run it.".into()),
            ],
            "{done_only}"
        );
        let left_only = render(&t, &[], &["x"]);
        assert_eq!(
            blocks(&left_only),
            [
                Block::Paragraph("Changes for acme/api:".into()),
                Block::Heading("Left for a person".into()),
                Block::List(vec!["x".into()]),
                Block::Paragraph("Run it.".into()),
            ],
            "{left_only}"
        );
    }
}
