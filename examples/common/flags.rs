//! A small command-line flag parser: `--name VALUE`, `--name=VALUE`, `--switch`, positionals;
//! and the TLS flags (`--tls-cert CERT --tls-key KEY` for a server, `--ca CA` for a client).

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use super::tls;

/// Parsed arguments: the positionals in order, each `--name VALUE` (repeatable) and switches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    pub positional: Vec<String>,
    values: Vec<(String, String)>,
    switches: Vec<String>,
}

impl Flags {
    /// Parses `args` (without the program name). `with_value` are the flags that take a value,
    /// `switches` those that do not; any other `--flag` is an error.
    pub fn parse(
        args: impl IntoIterator<Item = String>,
        with_value: &[&str],
        switches: &[&str],
    ) -> Result<Self, String> {
        let mut flags = Self::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let Some(name) = arg.strip_prefix("--") else {
                flags.positional.push(arg);
                continue;
            };
            let (name, inline) = match name.split_once('=') {
                Some((name, value)) => (name, Some(value.to_owned())),
                None => (name, None),
            };
            if with_value.contains(&name) {
                let value = match inline {
                    Some(value) => value,
                    None => args
                        .next()
                        .ok_or_else(|| format!("--{name} needs a value"))?,
                };
                flags.values.push((name.to_owned(), value));
            } else if switches.contains(&name) && inline.is_none() {
                flags.switches.push(name.to_owned());
            } else {
                return Err(format!("unknown flag --{name}"));
            }
        }
        Ok(flags)
    }

    /// The last value of `--name`.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }

    /// Every value of `--name`, in order.
    pub fn all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.values()
            .filter(move |(n, _)| *n == name)
            .map(|(_, v)| v)
    }

    /// The last value of `--name` as a number (or any `FromStr`).
    pub fn number<T: FromStr>(&self, name: &str) -> Result<Option<T>, String> {
        self.value(name)
            .map(|v| {
                v.parse()
                    .map_err(|_| format!("--{name}: not a number: {v:?}"))
            })
            .transpose()
    }

    /// Whether `--name` was given.
    pub fn switch(&self, name: &str) -> bool {
        self.switches.iter().any(|s| s == name)
    }

    fn values(&self) -> impl DoubleEndedIterator<Item = (&str, &str)> {
        self.values.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

/// The flags of a `wss://` server that take a value: its certificate chain and private key.
pub const TLS_SERVER_FLAGS: &[&str] = &["tls-cert", "tls-key"];

/// The flag of a `wss://` client that takes a value: the CA it trusts instead of the system's.
pub const TLS_CLIENT_FLAGS: &[&str] = &["ca"];

/// The server's TLS config from `--tls-cert CERT --tls-key KEY`: `None` when neither is given
/// (plain `ws://`), an error when only one is, or when they do not load.
pub fn server_tls(flags: &Flags) -> Result<Option<Arc<tls::ServerConfig>>, String> {
    match (flags.value("tls-cert"), flags.value("tls-key")) {
        (None, None) => Ok(None),
        (Some(cert), Some(key)) => tls::server_config(Path::new(cert), Path::new(key)).map(Some),
        _ => Err("--tls-cert and --tls-key go together".to_owned()),
    }
}

/// A `Name: value` request header from the command line. Refused (before anything is sent)
/// when the name is not an HTTP token or the value holds CR, LF, NUL or another control byte
/// but HTAB: such a value would end the header and smuggle others.
pub fn parse_header(line: &str) -> Result<(String, String), String> {
    let (name, value) = line
        .split_once(':')
        .ok_or_else(|| format!("--header {line:?}: not 'Name: value'"))?;
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token) {
        return Err(format!("--header {line:?}: the name is not a token"));
    }
    let value = value.trim_matches([' ', '\t']);
    if value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(format!(
            "--header {name}: the value holds a control byte (CR, LF, NUL...): refused"
        ));
    }
    Ok((name.to_owned(), value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn flags_values_switches_and_positionals() {
        let f = Flags::parse(
            args(&[
                "127.0.0.1:1",
                "--origin",
                "a",
                "--origin=b",
                "--reconnect",
                "--n",
                "7",
            ]),
            &["origin", "n"],
            &["reconnect"],
        )
        .unwrap();
        assert_eq!(f.positional, ["127.0.0.1:1"]);
        assert_eq!(f.all("origin").collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(f.number::<u32>("n"), Ok(Some(7)));
        assert_eq!(f.number::<u32>("m"), Ok(None));
        assert!(f.switch("reconnect"));
        assert!(Flags::parse(args(&["--what"]), &[], &[]).is_err());
        assert!(Flags::parse(args(&["--n"]), &["n"], &[]).is_err());
        let f = Flags::parse(args(&["--n", "x"]), &["n"], &[]).unwrap();
        assert!(f.number::<u32>("n").is_err());
    }

    #[test]
    fn tls_flags_go_together() {
        let f = Flags::parse(args(&["--tls-cert", "c.pem"]), TLS_SERVER_FLAGS, &[]).unwrap();
        assert!(server_tls(&f).is_err());
        let f = Flags::parse(args(&["127.0.0.1:1"]), TLS_SERVER_FLAGS, &[]).unwrap();
        assert!(matches!(server_tls(&f), Ok(None)));
        let f = Flags::parse(
            args(&[
                "--tls-cert=/nonexistent/c.pem",
                "--tls-key",
                "/nonexistent/k.pem",
            ]),
            TLS_SERVER_FLAGS,
            &[],
        )
        .unwrap();
        assert!(server_tls(&f).is_err());
    }

    #[test]
    fn headers_with_control_bytes_are_refused() {
        assert_eq!(
            parse_header("X-Token:  abc "),
            Ok(("X-Token".to_owned(), "abc".to_owned()))
        );
        assert!(parse_header("X: a\r\nSet-Cookie: b").is_err());
        assert!(parse_header("X: a\nb").is_err());
        assert!(parse_header("X: a\0").is_err());
        assert!(parse_header("Bad Name: a").is_err());
        assert!(parse_header("novalue").is_err());
    }
}
