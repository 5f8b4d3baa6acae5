//! Translations. Every user-visible string of the pages lives in `i18n/<lang>.toml` (flat
//! `key = "text"`); templates call `t("key")`. Chinese is the default, English the switch.

use std::collections::HashMap;

pub const LANGS: [&str; 2] = ["zh", "en"];

const SOURCES: [(&str, &str); 2] = [
    ("zh", include_str!("../../i18n/zh.toml")),
    ("en", include_str!("../../i18n/en.toml")),
];

pub struct Catalog {
    texts: HashMap<&'static str, HashMap<String, String>>,
}

impl Catalog {
    /// Parse the embedded files. They are part of the binary and covered by tests, so a broken
    /// file is a build defect, not a runtime condition.
    pub fn load() -> Catalog {
        let texts = SOURCES
            .iter()
            .map(|(lang, src)| {
                let table: HashMap<String, String> =
                    toml::from_str(src).expect("translation file parses");
                (*lang, table)
            })
            .collect();
        Catalog { texts }
    }

    /// The text for `key`; the key itself when missing (visible, and caught by tests).
    pub fn get(&self, lang: &str, key: &str) -> String {
        self.texts
            .get(lang)
            .and_then(|t| t.get(key))
            .cloned()
            .unwrap_or_else(|| key.to_string())
    }

    pub fn has(&self, lang: &str, key: &str) -> bool {
        self.texts.get(lang).is_some_and(|t| t.contains_key(key))
    }

    pub fn keys(&self, lang: &str) -> Vec<String> {
        let mut k: Vec<String> = self
            .texts
            .get(lang)
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default();
        k.sort();
        k
    }

    /// A field error in the reader's language: `error.<code>` when translated; else, for an
    /// English reader, the error's own (English) detail, and for anyone else a general
    /// "this field is not right" in their language — never English text on a Chinese page. An
    /// untranslated code is logged so that it gets its translation.
    pub fn field_error(&self, lang: &str, e: &domain::FieldError) -> String {
        let key = format!("error.{}", e.code);
        if self.has(lang, &key) {
            self.get(lang, &key)
        } else if lang == "en" {
            e.detail.clone()
        } else {
            tracing::warn!(code = %e.code, field = %e.field, "a field error without a translation");
            self.get(lang, "error.untranslated")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_the_same_keys() {
        let c = Catalog::load();
        assert_eq!(c.keys("zh"), c.keys("en"));
        assert!(c.keys("zh").len() > 50);
    }

    #[test]
    fn an_untranslated_field_error_is_never_english_on_a_chinese_page() {
        let c = Catalog::load();
        let known = domain::FieldError::new("confirm", "withdraw_unconfirmed", "tick the box");
        assert_eq!(
            c.field_error("zh", &known),
            c.get("zh", "error.withdraw_unconfirmed")
        );
        let unknown = domain::FieldError::new("x", "no_such_code_anywhere", "an English detail");
        assert_eq!(c.field_error("en", &unknown), "an English detail");
        let zh = c.field_error("zh", &unknown);
        assert!(
            !zh.contains("English") && zh.chars().any(|ch| ('\u{4e00}'..='\u{9fff}').contains(&ch)),
            "{zh}"
        );
    }

    #[test]
    fn every_key_a_template_uses_is_translated() {
        let c = Catalog::load();
        for (name, src) in crate::frame::views::TEMPLATES {
            for part in src.split("t(\"").skip(1) {
                let key = part.split('"').next().unwrap_or_default();
                for lang in LANGS {
                    assert!(
                        c.has(lang, key)
                            || (key.ends_with('.')
                                && c.keys(lang).iter().any(|k| k.starts_with(key))),
                        "{name}: key '{key}' missing in {lang}.toml"
                    );
                }
            }
        }
    }

    #[test]
    fn templates_hold_no_hard_coded_chinese_text() {
        for (name, src) in crate::frame::views::TEMPLATES {
            let han = src.chars().find(|c| ('\u{4e00}'..='\u{9fff}').contains(c));
            assert!(
                han.is_none(),
                "{name} contains '{}'; put it in i18n/*.toml",
                han.unwrap_or(' ')
            );
        }
    }
}
