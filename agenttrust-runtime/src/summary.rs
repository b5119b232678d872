//! The 200-character cap on input summaries (PROTOCOL.md §7, defect D1).

/// The most characters of an input summary that are ever sent.
pub const MAX_SUMMARY_CHARS: usize = 200;

/// Cuts `text` to at most [`MAX_SUMMARY_CHARS`] Unicode scalar values, on a
/// character boundary: never a panic, whatever the text.
///
/// ```
/// use agenttrust_runtime::truncate_summary;
///
/// let long = "é".repeat(300);
/// let cut = truncate_summary(&long);
/// assert_eq!(cut.chars().count(), 200);
/// assert_eq!(truncate_summary("short"), "short");
/// ```
pub fn truncate_summary(text: &str) -> &str {
    truncate_chars(text, MAX_SUMMARY_CHARS)
}

/// Cuts `text` to at most `max` characters on a character boundary.
pub(crate) fn truncate_chars(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((byte_index, _)) => &text[..byte_index],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_multibyte_text_on_a_char_boundary() {
        let text = format!("{}é{}", "a".repeat(199), "ü".repeat(50));
        let cut = truncate_summary(&text);
        assert_eq!(cut.chars().count(), 200);
        assert!(cut.ends_with('é'));
    }

    #[test]
    fn keeps_exactly_200_and_emoji() {
        let text = "🦀".repeat(200);
        assert_eq!(truncate_summary(&text), text);
        let more = "🦀".repeat(201);
        assert_eq!(truncate_summary(&more).chars().count(), 200);
    }
}
