//! Validation rules shared by the server and the app, so both say the same thing.

/// Checks a resource name (deployment, host, cloud-config namespace or name).
///
/// 1 to 64 characters of letters, digits, `_` and `-`, starting with a letter: names appear in
/// URLs, in LXD instance names (lower-cased, `_` turned into `-`) and in LXD config values.
pub fn resource_name(what: &str, value: &str) -> Result<(), String> {
    if value.is_empty() || value.chars().count() > 64 {
        return Err(format!("{what} must be 1 to 64 characters long"));
    }
    if !value.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(format!("{what} {value:?} must start with a letter"));
    }
    if let Some(c) = value.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-')) {
        return Err(format!("{what} {value:?} contains {c:?}; use letters, digits, '_' and '-'"));
    }
    Ok(())
}

/// Checks a free-text field: at most `max` characters and no NUL (PostgreSQL text cannot hold one).
pub fn max_len(what: &str, value: &str, max: usize) -> Result<(), String> {
    if value.chars().count() > max {
        return Err(format!("{what} is longer than {max} characters"));
    }
    if value.contains('\0') {
        return Err(format!("{what} contains a NUL character"));
    }
    Ok(())
}

/// Checks an LXD project name: 1 to 63 letters, digits, `_`, `.` and `-`, starting with a letter
/// or digit (it travels in every request's `?project=`, so nothing that needs quoting).
pub fn lxd_project(value: &str) -> Result<(), String> {
    let valid = !value.is_empty()
        && value.len() <= 63
        && value.starts_with(|c: char| c.is_ascii_alphanumeric())
        && value.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "project {value:?} must be 1 to 63 letters, digits, '_', '.' and '-', starting with a letter or digit"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(resource_name("name", "My_Site").is_ok());
        assert!(resource_name("name", "web-1").is_ok());
        for bad in ["", "1site", "_x", "a b", "a/b", "é", &"a".repeat(65)] {
            assert!(resource_name("name", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn projects() {
        for good in ["default", "team-a", "Team_1.prod", "9lives"] {
            assert!(lxd_project(good).is_ok(), "{good:?}");
        }
        for bad in ["", "-x", ".x", "a b", "a/b", "a?b", "a&b", &"a".repeat(64)] {
            assert!(lxd_project(bad).is_err(), "{bad:?}");
        }
    }
}
