//! The `Sec-WebSocket-Extensions` grammar (RFC 6455 §9.1): validation and borrowed iteration.
//!
//! ```text
//! extension-list = 1#extension
//! extension = extension-token *( ";" extension-param )
//! extension-param = token [ "=" (token | quoted-string) ]
//! ```

use super::headers::{is_token, one, split_once, trim, Tokens};

/// Whether `values` hold a valid `Sec-WebSocket-Extensions` list (RFC 6455 §9.1), or none.
pub(crate) fn valid_extension_list<'b>(values: impl Iterator<Item = &'b [u8]>) -> bool {
    Tokens::new(values).all_bytes(valid_extension)
}

/// Whether a caller's `Sec-WebSocket-Extensions` value is a valid list of at least one.
pub(crate) fn is_extension_list(value: &str) -> bool {
    Tokens::new(one(value)).next_bytes().is_some() && valid_extension_list(one(value))
}

/// Whether `answer` is a valid `Sec-WebSocket-Extensions` list (RFC 6455 §9.1, or none at
/// all) that names only extensions `offer` lists.
pub(crate) fn valid_answer<'x, 'y>(
    answer: impl Iterator<Item = &'x [u8]>,
    offer: impl Iterator<Item = &'y [u8]> + Clone,
) -> bool {
    // Offered first: a client that offers nothing rejects any answer before parsing it.
    Tokens::new(answer).all_bytes(|e| {
        Tokens::new(offer.clone()).any_bytes(|o| extension_name(o) == extension_name(e))
            && valid_extension(e)
    })
}

/// The extension token at the front of a list element, before its parameters. Out of line:
/// one copy for the answer's check and the iterator.
#[inline(never)]
fn extension_name(elem: &[u8]) -> &[u8] {
    trim(split_once(elem, b';').0)
}

/// `extension = extension-token *( ";" extension-param )`,
/// `extension-param = token [ "=" (token | quoted-string) ]`. A quoted-string must be a plain
/// token in quotes (§9.1: its unescaped value must be a token); backslash escapes are refused.
pub(crate) fn valid_extension(elem: &[u8]) -> bool {
    // The extension's name (the first part, which takes no value), then its parameters: each
    // a token, a parameter with an optional `= value`.
    let mut parts = Some(elem);
    let mut name = true;
    while let Some(rest) = parts {
        let (part, next) = split_once(rest, b';');
        let (key, value) = split_once(part, b'=');
        if !is_token(trim(key)) || value.is_some_and(|v| name || !is_token(unquote(trim(v)))) {
            return false;
        }
        name = false;
        parts = next;
    }
    true
}

/// `"value"` → `value`; anything else unchanged.
fn unquote(v: &[u8]) -> &[u8] {
    match v {
        [b'"', inner @ .., b'"'] => inner,
        _ => v,
    }
}

/// The extensions of a `Sec-WebSocket-Extensions` list (RFC 6455 §9.1) spread over any number
/// of header values, each with its parameters.
#[derive(Debug, Clone)]
pub struct Extensions<'b, L> {
    list: Tokens<'b, L>,
}

impl<'b, L: Iterator<Item = &'b [u8]>> Extensions<'b, L> {
    /// The extensions listed by every value `values` yields.
    pub fn new(values: L) -> Self {
        Self {
            list: Tokens::new(values),
        }
    }
}

impl<'b, L: Iterator<Item = &'b [u8]>> Iterator for Extensions<'b, L> {
    type Item = Extension<'b>;

    fn next(&mut self) -> Option<Extension<'b>> {
        let elem = self.list.next()?.as_bytes();
        let (_, params) = split_once(elem, b';');
        Some(Extension {
            name: as_str(extension_name(elem)),
            params: as_str(params.unwrap_or_default()),
        })
    }
}

/// Bytes known to be ASCII (split from a `&str` at ASCII bytes) as `&str`. Out of line: the
/// four callers (an extension's name and parameters, a parameter's name and value) share it.
#[inline(never)]
fn as_str(b: &[u8]) -> &str {
    core::str::from_utf8(b).unwrap_or_default()
}

/// One extension of a `Sec-WebSocket-Extensions` list: its name and parameters, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Extension<'b> {
    name: &'b str,
    params: &'b str,
}

impl<'b> Extension<'b> {
    /// The extension token, such as `permessage-deflate`.
    #[must_use]
    pub fn name(&self) -> &'b str {
        self.name
    }

    /// The parameters as `(name, value)`: `client_max_window_bits` gives `("...", None)`,
    /// `x=10` and `x="10"` give `("x", Some("10"))`.
    #[must_use]
    pub fn params(&self) -> ExtensionParams<'b> {
        ExtensionParams {
            rest: Some(self.params.as_bytes()),
        }
    }
}

/// The parameters of one [`Extension`].
#[derive(Debug, Clone)]
pub struct ExtensionParams<'b> {
    /// What follows the last `;` taken, `None` once there is none.
    rest: Option<&'b [u8]>,
}

impl<'b> Iterator for ExtensionParams<'b> {
    type Item = (&'b str, Option<&'b str>);

    // `#[inline]`: a hint that inlining it pays (12 bytes on the deflate client's path).
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (param, rest) = split_once(self.rest?, b';');
            self.rest = rest;
            let (name, value) = split_once(trim(param), b'=');
            let name = trim(name);
            if !name.is_empty() {
                return Some((as_str(name), value.map(|v| as_str(unquote(trim(v))))));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The grammar as written: the `;` parts, a token each, a `= value` on any but the first.
    fn reference(elem: &[u8]) -> bool {
        elem.split(|&b| b == b';').enumerate().all(|(i, part)| {
            let (key, value) = split_once(part, b'=');
            is_token(trim(key)) && value.is_none_or(|v| i > 0 && is_token(unquote(trim(v))))
        })
    }

    proptest::proptest! {
        #[test]
        #[cfg_attr(miri, ignore)]
        fn extension_check_matches_the_grammar(
            elem in proptest::collection::vec(proptest::sample::select(&b"ab;= \"\t,"[..]), 0..12)
        ) {
            proptest::prop_assert_eq!(valid_extension(&elem), reference(&elem));
        }
    }

    #[test]
    fn extension_grammar() {
        let ok = [
            "permessage-deflate",
            "permessage-deflate; client_max_window_bits, x-foo",
            "a;b=1 ; c=\"2\"",
            " a ; b = 1 ",
        ];
        for s in ok {
            assert!(valid_extension_list(one(s)), "{s}");
        }
        let bad = [
            "a;",
            "a;;b",
            ";b",
            "a;b=",
            "a;b=\"x,y\"",
            "a;b=\"\\x\"",
            "a b",
            "a;b=c d",
            "a=1",
            "a=\"b\"; c",
            "é",
        ];
        for s in bad {
            assert!(!valid_extension_list(one(s)), "{s}");
        }
        let mut e = Extensions::new(one("a;b=1 ; c=\"2\";d, e"));
        let a = e.next().unwrap();
        assert_eq!(a.name(), "a");
        assert!(a
            .params()
            .eq([("b", Some("1")), ("c", Some("2")), ("d", None)]));
        let last = e.next().unwrap();
        assert_eq!((last.name(), last.params().next()), ("e", None));
        assert!(e.next().is_none());
    }
}
