//! Helpers every view shares: plain-text tables for terminals, Markdown table cells for step
//! summaries and pull requests, and plurals. The views of `plan`/`apply`, `audit`, `cost` and
//! `deps` all write their tables with these.

/// A plain-text table: left-aligned columns; the last column is not padded. Cells may be
/// coloured ([`super::style`]): columns are as wide as the text a terminal shows.
pub fn text(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(super::style::width(cell));
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(c);
                s.push_str(&" ".repeat(widths[i].saturating_sub(super::style::width(c)) + 2));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// Escapes text for a Markdown table cell (and for HTML element content such as `<summary>`), and
/// cuts it after `max_chars` characters with `…`.
///
/// - `|`, `` ` ``, `\`, `<`, `>` and `&` become character references (`&#124;`, `&#96;`,
///   `&#92;`, `&lt;`, `&gt;`, `&amp;`): GitHub splits a table row at `|` before it decodes
///   references, so an encoded pipe can never add a column, and `<`/backtick can never start an
///   HTML tag or a code span. (A backslash-escaped `\|` would not do: a message ending in `\`
///   would turn our `\|` into `\\|`, an escaped backslash and a live pipe.)
/// - `*`, `_`, `[`, `]`, `~`, `$` and `!` are backslash-escaped so a message does not turn into
///   emphasis, a link, an image, strike-through or math (`${{ secrets.X }}` is common here).
/// - Line breaks become `<br>`; other control characters become a space.
pub fn md_cell(s: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut chars = s.chars().peekable();
    let mut n = 0usize;
    while let Some(c) = chars.next() {
        if n == max_chars {
            out.push('…');
            break;
        }
        n += 1;
        match c {
            '|' => out.push_str("&#124;"),
            '`' => out.push_str("&#96;"),
            '\\' => out.push_str("&#92;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '*' | '_' | '[' | ']' | '~' | '$' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("<br>");
            }
            '\n' => out.push_str("<br>"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// `"1 repository"`, `"2 repositories"`: the count and the noun it takes.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", plural(n, one, many))
}

/// `one` when `n` is 1, else `many`.
pub fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}
