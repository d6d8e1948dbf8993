//! The user-data a container gets: the cloud-config's, plus Mosaic's `phone_home` when enabled.

/// Renders user-data. Without phone-home it is the cloud-config's text, byte for byte. With it, the
/// mapping gets a `phone_home` entry posting to `url` (the operator's own `phone_home`, if any,
/// is replaced: Mosaic's must be the one that runs).
pub fn render(user_data: &str, phone_home: Option<&str>) -> Result<String, String> {
    let Some(url) = phone_home else { return Ok(user_data.to_owned()) };
    let mut doc: serde_norway::Mapping =
        serde_norway::from_str(user_data).map_err(|e| format!("the cloud-config no longer parses: {e}"))?;
    let mut stanza = serde_norway::Mapping::new();
    stanza.insert("url".into(), url.into());
    stanza.insert("post".into(), serde_norway::Value::Sequence(vec!["instance_id".into()]));
    stanza.insert("tries".into(), 10.into());
    doc.insert("phone_home".into(), serde_norway::Value::Mapping(stanza));
    let body = serde_norway::to_string(&doc).map_err(|e| e.to_string())?;
    Ok(format!("#cloud-config\n{body}"))
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn without_phone_home_the_text_is_untouched() {
        let text = "#cloud-config\n# a comment\nruncmd: [[true]]\n";
        assert_eq!(render(text, None).unwrap(), text);
    }

    #[test]
    fn phone_home_is_added_and_the_rest_kept() {
        let out =
            render("#cloud-config\nruncmd: [[true]]\nphone_home: {url: x}\n", Some("http://127.0.0.1:1/p"))
                .unwrap();
        assert!(out.starts_with("#cloud-config\n"));
        let doc: serde_norway::Value = serde_norway::from_str(&out).unwrap();
        assert_eq!(doc["phone_home"]["url"], "http://127.0.0.1:1/p");
        assert_eq!(doc["phone_home"]["tries"], 10);
        assert!(doc["runcmd"].is_sequence());
    }
}
