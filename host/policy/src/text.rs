//! Plugin-chosen text, cut to a size the host can afford to keep.
//!
//! A plugin's error message, a provider's error description or an API base can be
//! megabytes long; stored as a connection's `last_error` and returned by every listing,
//! one hostile plugin made the whole API slow. Every such string is clipped where it enters
//! the host.
//!
//! [`clip`] is the host's one way to shorten text: traces, egress logs, plugin log lines and
//! the CLI's quotes of an unexpected answer use it too, so every cut lands on a character
//! boundary and says how long the text was.

use std::borrow::Cow;

/// The most a plugin-supplied string keeps: about 2 KiB.
pub const MAX_PLUGIN_TEXT: usize = 2048;

/// `text` cut to at most `max` bytes on a character boundary, saying how long it was:
/// `"abc… (cut from 4000 bytes)"`. The marker comes on top of `max`; text of `max` bytes or
/// fewer is borrowed unchanged.
pub fn clip(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}… (cut from {} bytes)", &text[..end], text.len()))
}

/// The most a composed message keeps (the host's words around clipped plugin text): enough
/// that clipping it again never hides what the first clip said.
pub const MAX_MESSAGE: usize = 2 * MAX_PLUGIN_TEXT;

/// [`clip`] to [`MAX_MESSAGE`], owned: for messages that quote plugin text clipped already.
pub fn clip_message(text: String) -> String {
    if text.len() <= MAX_MESSAGE { text } else { clip(&text, MAX_MESSAGE).into_owned() }
}

/// [`clip`] to [`MAX_PLUGIN_TEXT`], owned.
pub fn clip_plugin_text(text: String) -> String {
    if text.len() <= MAX_PLUGIN_TEXT { text } else { clip(&text, MAX_PLUGIN_TEXT).into_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_kept_and_long_text_is_cut_on_a_char_boundary() {
        assert_eq!(clip("abc", 3), "abc");
        let cut = clip("ééé", 3);
        assert_eq!(cut, "é… (cut from 6 bytes)");
        let long = clip_plugin_text("x".repeat(8 << 20));
        assert!(long.len() < MAX_PLUGIN_TEXT + 40, "{}", long.len());
        assert!(long.ends_with("(cut from 8388608 bytes)"));
    }

    #[test]
    fn a_cut_inside_a_character_keeps_the_whole_characters_before_it() {
        // `é` is 2 bytes, `€` 3 and `🦀` 4: every cut inside one backs off to its start.
        let text = "aé€🦀";
        assert_eq!(clip(text, text.len()), text);
        for (max, kept) in [(0, ""), (1, "a"), (2, "a"), (3, "aé"), (4, "aé"), (5, "aé"), (6, "aé€"), (9, "aé€")]
        {
            assert_eq!(clip(text, max), format!("{kept}… (cut from 10 bytes)"), "max {max}");
        }
    }
}
