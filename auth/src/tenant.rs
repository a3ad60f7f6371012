//! Tenant names. A tenant is a board of education (教育委員会), the data controller whose
//! statements are partitioned from every other board's.

use crate::error::AuthError;

/// Longest accepted tenant name.
pub const MAX_TENANT_LEN: usize = 64;

/// Validates a tenant name: 1–64 characters of `[A-Za-z0-9._-]`, e.g. a board code `"131016"`
/// or `"board-131016"`. Names made only of dots (`.`, `..`) are refused as well, because other
/// crates may use the tenant as a directory or key-prefix component.
pub fn validate_tenant(s: &str) -> Result<(), AuthError> {
    if s.is_empty() || s.len() > MAX_TENANT_LEN {
        return Err(AuthError::config(format!(
            "tenant name must be 1 to {MAX_TENANT_LEN} characters, got {}",
            s.len()
        )));
    }
    if let Some(bad) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(AuthError::config(format!(
            "tenant name may only contain A-Z a-z 0-9 . _ - (found {bad:?})"
        )));
    }
    if s.chars().all(|c| c == '.') {
        return Err(AuthError::config(
            "tenant name may not consist only of dots",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn board_codes_and_slugs_are_valid_tenants() {
        for name in ["131016", "board-131016", "Tokyo_Minato.2025", "a"] {
            assert!(validate_tenant(name).is_ok(), "{name}");
        }
        assert!(validate_tenant(&"x".repeat(64)).is_ok());
    }

    #[test]
    fn empty_long_dotted_or_exotic_tenants_are_invalid() {
        let too_long = "x".repeat(65);
        for name in [
            "",
            too_long.as_str(),
            ".",
            "..",
            "a/b",
            "a b",
            "東京",
            "a:b",
        ] {
            assert!(validate_tenant(name).is_err(), "{name}");
        }
    }
}
