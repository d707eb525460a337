//! Masks personal data in free Russian text shown to the public: phone numbers, e-mail
//! addresses, links (profile pages above all) and messenger handles.
use regex::Regex;
use std::{borrow::Cow, sync::LazyLock};

/// Replaces a phone number.
pub const PHONE: &str = "[телефон скрыт]";
/// Replaces an e-mail address.
pub const EMAIL: &str = "[e-mail скрыт]";
/// Replaces a link or a messenger handle.
pub const LINK: &str = "[ссылка скрыта]";

static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:https?://|www\.)\S+|\b(?:m\.)?(?:vk\.com|vk\.ru|ok\.ru|t\.me|telegram\.me|instagram\.com|facebook\.com|max\.ru)/\S+",
    )
    .expect("valid URL pattern")
});
static EMAIL_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+").expect("valid e-mail pattern"));
static HANDLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[\s(])@[A-Za-z0-9_]{4,32}\b").expect("valid handle pattern")
});
/// A run that may be a phone number: digits with spaces, dashes or brackets between.
static PHONE_RUN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\+?\(?\d[\d\s\-–()]{4,}\d").expect("valid phone pattern"));
/// A local number written with dashes: 34-56-78 or 234-56-78.
static LOCAL_PHONE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\d{2,3}-\d{2}-\d{2}$").expect("valid local phone pattern"));

/// Russian numbers: 11 digits after 7 or 8, or 10 digits of an area code (3xx, 4xx, 8xx,
/// 9xx); other long digit runs (years, document numbers) are left alone.
fn is_phone(run: &str) -> bool {
    let digits: String = run.chars().filter(char::is_ascii_digit).collect();
    match (digits.len(), digits.as_bytes().first()) {
        (11, Some(b'7' | b'8')) => true,
        (10, Some(b'3' | b'4' | b'8' | b'9')) => true,
        _ => LOCAL_PHONE.is_match(run.trim()),
    }
}

/// `text` with personal data replaced; borrowed when there was nothing to mask.
pub fn mask(text: &str) -> Cow<'_, str> {
    let phone_in = |t: &str| PHONE_RUN.find_iter(t).any(|m| is_phone(m.as_str()));
    if !URL.is_match(text) && !EMAIL_RE.is_match(text) && !HANDLE.is_match(text) && !phone_in(text)
    {
        return Cow::Borrowed(text);
    }
    // Links first: they can hold digits and `@` that the later patterns would half-match.
    let out = URL.replace_all(text, LINK);
    let out = EMAIL_RE.replace_all(&out, EMAIL).into_owned();
    let out = HANDLE
        .replace_all(&out, |c: &regex::Captures<'_>| {
            // Keep the whitespace or bracket the match started with.
            let m = &c[0];
            format!("{}{LINK}", &m[..m.find('@').unwrap_or(0)])
        })
        .into_owned();
    let out = PHONE_RUN
        .replace_all(&out, |c: &regex::Captures<'_>| {
            let run = &c[0];
            if is_phone(run) { PHONE.to_owned() } else { run.to_owned() }
        })
        .into_owned();
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_phones_in_russian_formats() {
        for text in [
            "Звоните +7 (912) 345-67-89 после обеда",
            "мой номер 89123456789",
            "тел. 8-912-345-67-89",
            "+79123456789",
            "городской 8 (3462) 34-56-78",
            "диспетчер 34-56-78 не отвечает",
        ] {
            let masked = mask(text);
            assert!(masked.contains(PHONE), "{text} -> {masked}");
            assert!(!masked.chars().any(|c| c.is_ascii_digit()), "{text} -> {masked}");
        }
    }

    #[test]
    fn masks_emails_links_and_handles() {
        let text = "Пишите на ivanova.m@mail.ru или иванова@почта.рф, профиль vk.com/id12345, \
                    https://t.me/ivanova_m и @ivanova_m.";
        let masked = mask(text);
        for leaked in ["ivanova", "иванова@", "id12345", "t.me", "vk.com"] {
            assert!(!masked.contains(leaked), "{leaked} in {masked}");
        }
        assert_eq!(masked.matches(EMAIL).count(), 2, "{masked}");
        assert_eq!(masked.matches(LINK).count(), 3, "{masked}");
        assert!(masked.starts_with("Пишите на "));
    }

    #[test]
    fn leaves_ordinary_numbers_and_text_alone() {
        for text in [
            "С 12.03.2025 в доме 15 по ул. Ленина нет горячей воды, кв. 48.",
            "Заплатили 15 000 рублей, а ремонт не сделан с 2023-2024 гг.",
            "Обращение ЦУР-2026-000123 закрыто без ответа",
        ] {
            assert_eq!(mask(text), text);
            assert!(matches!(mask(text), Cow::Borrowed(_)));
        }
    }
}
