//! Syntax of Kubernetes names, labels and CIDRs.

use std::net::IpAddr;

fn is_label_like(text: &str, max: usize, first: fn(u8) -> bool, middle: fn(u8) -> bool) -> bool {
    let bytes = text.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(&a), Some(&z)) => {
            bytes.len() <= max
                && first(a)
                && (z.is_ascii_lowercase() || z.is_ascii_digit())
                && bytes.iter().all(|&b| middle(b))
        }
        _ => false,
    }
}

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

fn is_lower_alnum_or_dash(b: u8) -> bool {
    is_lower_alnum(b) || b == b'-'
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters.
pub fn is_dns1123_label(text: &str) -> bool {
    is_label_like(text, 63, is_lower_alnum, is_lower_alnum_or_dash)
}

/// `[a-z]([-a-z0-9]*[a-z0-9])?`, at most 63 characters.
pub fn is_dns1035_label(text: &str) -> bool {
    is_label_like(text, 63, |b| b.is_ascii_lowercase(), is_lower_alnum_or_dash)
}

/// Dot-separated DNS-1123 label-like parts, at most 253 characters in all.
pub fn is_dns1123_subdomain(text: &str) -> bool {
    text.len() <= 253
        && text
            .split('.')
            .all(|part| is_label_like(part, 253, is_lower_alnum, is_lower_alnum_or_dash))
}

/// A port name (IANA service name): at most 15 characters of `[a-z0-9-]`, at least one
/// letter, no leading, trailing or double '-'.
pub fn is_port_name(text: &str) -> bool {
    is_label_like(text, 15, is_lower_alnum, is_lower_alnum_or_dash)
        && text.bytes().any(|b| b.is_ascii_lowercase())
        && !text.contains("--")
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, at most 63 characters, or empty.
pub fn is_label_value(text: &str) -> bool {
    text.is_empty() || is_name_part(text)
}

fn is_name_part(text: &str) -> bool {
    let bytes = text.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(a), Some(z)) => {
            bytes.len() <= 63
                && a.is_ascii_alphanumeric()
                && z.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// A label or annotation key, or a resource name: `[prefix/]name`.
pub fn is_qualified_name(text: &str) -> bool {
    match text.split_once('/') {
        Some((prefix, name)) => {
            !prefix.is_empty() && is_dns1123_subdomain(prefix) && is_name_part(name)
        }
        None => is_name_part(text),
    }
}

/// `10.0.0.0/8`, `2001:db8::/32`.
pub fn is_cidr(text: &str) -> bool {
    let Some((address, prefix)) = text.split_once('/') else {
        return false;
    };
    let max = match address.parse::<IpAddr>() {
        Ok(IpAddr::V4(_)) => 32,
        Ok(IpAddr::V6(_)) => 128,
        Err(_) => return false,
    };
    !prefix.is_empty()
        && prefix.len() <= 3
        && prefix.bytes().all(|b| b.is_ascii_digit())
        && prefix.parse::<u8>().is_ok_and(|p| p <= max)
}
