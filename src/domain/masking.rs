//! Masks personal data in free Russian text shown to the public role: phone numbers (mobile,
//! trunk and short city numbers), e-mail addresses (also obfuscated ones), links (profile and
//! messenger pages above all), messenger handles, SNILS and passport numbers.
//!
//! Each detector reports byte spans of the original text. A span that overlaps one already taken
//! is dropped, and the detectors run from the most to the least specific (links, e-mails, handles,
//! passports, then digit runs: SNILS before phones), so the digits of `wa.me/79…` or the `@` of an
//! e-mail are masked once, as the thing they belong to. Digit runs are judged by their grouping
//! and the words right before them, not by their length alone: dates, sums, postcodes, house,
//! route and complaint numbers keep their shape and stay visible.
//!
//! The regex crate is built without its DFA engines here, so every pattern is kept off the hot
//! path: cheap byte checks decide which detectors run at all, and digit runs are scanned by hand.
use regex::Regex;
use std::{borrow::Cow, sync::LazyLock};

/// Replaces a phone number.
pub const PHONE: &str = "[телефон скрыт]";
/// Replaces an e-mail address, plain or obfuscated (`[at]`, `собака`, `[dot]`).
pub const EMAIL: &str = "[e-mail скрыт]";
/// Replaces a link or a messenger handle.
pub const LINK: &str = "[ссылка скрыта]";
/// Replaces a SNILS (individual insurance account) number.
pub const SNILS: &str = "[СНИЛС скрыт]";
/// Replaces the series and number of a passport.
pub const PASSPORT: &str = "[паспорт скрыт]";

/// Spaces that people and editors put inside numbers: plain, tab, no-break, thin, narrow no-break.
const WS: &str = r"[ \t\u{A0}\u{2000}-\u{200A}\u{202F}\u{205F}\u{3000}]";
/// What a link may contain: anything but spaces, quotes, angle and square brackets, and the
/// dashes and ellipsis that Russian prose glues to the end of a link.
const URL_TAIL: &str = r#"[^\s<>"«»“”„\[\]{}|\\^`\u{2013}\u{2014}…]+"#;
/// Sites whose links lead to a person (profiles, chats, channels), masked even without a scheme.
const PERSONAL_SITES: &str = concat!(
    r"vk\.com|vk\.ru|vk\.me|vkontakte\.ru|ok\.ru|odnoklassniki\.ru|max\.ru|dzen\.ru|",
    r"zen\.yandex\.ru|t\.me|telegram\.me|telegram\.dog|wa\.me|whatsapp\.com|viber\.com|",
    r"instagram\.com|instagr\.am|facebook\.com|fb\.com|fb\.me|twitter\.com|x\.com|",
    r"youtube\.com|youtu\.be|rutube\.ru|tiktok\.com",
);
/// A dot inside an e-mail: real, bracketed (`[dot]`, `(.)`) or spelled out (` точка `).
const EMAIL_DOT: &str =
    r"(?:\.|<ws>*[\[({<]<ws>*(?:dot|точка|\.)<ws>*[\])}>]<ws>*|<ws>+(?:dot|точка)<ws>+)";
/// Top-level domains accepted after a spelled-out `собака`/`at`/`точка`: without a real `@` the
/// domain must end like a real one, or prose such as «собака лает.Всю ночь» would be masked.
const KNOWN_TLDS: &[&str] = &[
    "ru", "su", "com", "net", "org", "info", "biz", "pro", "me", "io", "online", "site", "рф",
    "рус", "by", "kz", "uz", "ua",
];
/// Longest digit-group run examined at once; a longer run is continued by the next scan.
const MAX_GROUPS: usize = 16;
/// A phone number has at most this many digit groups (`+7 (912) 345 67 89` has five).
const MAX_PHONE_GROUPS: usize = 8;

/// Puts the shared character classes into a pattern template.
fn expand(template: &str) -> String {
    template.replace("<dot>", EMAIL_DOT).replace("<ws>", WS)
}

static URL: LazyLock<Regex> = LazyLock::new(|| {
    // The leading class keeps `ivan@vk.com/…`, `site.ru/t.me/…` and paths from starting a link.
    let template = concat!(
        r"(?i)(?:^|[^\w.@/\-])(?P<url>",
        r"(?:(?:https?|ftp|viber|tg|whatsapp|skype|intent)://|www\.)<tail>",
        r"|(?:[a-z0-9\-]+\.)*(?:<sites>)/<tail>",
        r")",
    );
    Regex::new(&template.replace("<tail>", URL_TAIL).replace("<sites>", PERSONAL_SITES))
        .expect("valid URL pattern")
});
static EMAIL_RE: LazyLock<Regex> = LazyLock::new(|| {
    let template = concat!(
        // The local part, with real or spelled-out dots.
        r"(?i)[\w+\-]+(?:<dot>[\w+\-]+)*",
        // `@`, `[at]`, `(собака)`, or ` собака ` / ` at ` / ` @ ` between spaces.
        r"(?:@|<ws>*[\[({<]<ws>*(?:at|собака|собачка|@)<ws>*[\])}>]<ws>*",
        r"|<ws>+(?:at|собака|собачка|@)<ws>+)",
        // The domain; the top-level part ends the match, so `mail.ru.Спасибо` stops at `ru`.
        r"(?:[\w\-]+<dot>)+(?P<tld>[a-z]{2,24}|рф|рус|москва|онлайн|сайт|орг|ком|дети)\b",
    );
    Regex::new(&expand(template)).expect("valid e-mail pattern")
});
static HANDLE: LazyLock<Regex> = LazyLock::new(|| {
    // Any non-word character may precede: `ник:@ivan`, `(@ivan)`, `«@ivan»`, `,@ivan`; but not
    // `]`, the end of a mask, so that `89…@mail` masked once stays as it is on a second pass.
    Regex::new(r"(?:^|[^\w@\]])(?P<handle>@[A-Za-z0-9_][A-Za-z0-9_.]{0,30}[A-Za-z0-9_])\b")
        .expect("valid handle pattern")
});
static PASSPORT_RE: LazyLock<Regex> = LazyLock::new(|| {
    let template = concat!(
        // `паспорт`, `паспорт РФ`, `паспортные данные`, or `серия` alone.
        r"(?i)\b(?P<cue>паспорт\w*(?:<ws>+(?:рф|гражданина(?:<ws>+рф)?|данные))?|сери[яи]|сер\.)",
        r"(?:<ws>|[:№#.,])*(?:(?:сери[яи]|сер\.)(?:<ws>|[:№#.])*)?",
        // Series `67 12` / `6712`, maybe `номер`/`№`, then the six-digit number.
        r"(?P<num>(?P<series>[0-9]{2}<ws>?[0-9]{2}(?:<ws>|[,:])*",
        r"(?:(?:номер|№|н\.|no\.?)(?:<ws>|[:.])*)?)?[0-9]{6})\b",
    );
    Regex::new(&expand(template)).expect("valid passport pattern")
});
/// A unit or currency right after a short grouped number: it is an amount, not a phone.
static UNIT_AFTER: LazyLock<Regex> = LazyLock::new(|| {
    let template = concat!(
        r"(?i)^<ws>*(?:[%°₽$€]|руб|р\.|коп|тыс|млн|млрд|км|м\b|м²|кв\.<ws>*м|шт|чел|градус",
        r"|лет\b|год|раз\b|минут|час|кг\b|тонн|литр|гкал|квт)",
    );
    Regex::new(&expand(template)).expect("valid unit pattern")
});

/// One span of the original text to replace.
struct Hit {
    start: usize,
    end: usize,
    with: &'static str,
}

/// Records a span unless it overlaps one taken by an earlier (more specific) detector; `hits`
/// stays sorted and free of overlaps, so one binary search finds the only neighbours to check.
fn take(hits: &mut Vec<Hit>, start: usize, end: usize, with: &'static str) {
    let at = hits.partition_point(|h| h.start < start);
    let clear_before = at == 0 || hits[at - 1].end <= start;
    let clear_after = hits.get(at).is_none_or(|h| end <= h.start);
    if start < end && clear_before && clear_after {
        hits.insert(at, Hit { start, end, with });
    }
}

/// `text` with personal data replaced; borrowed when there was nothing to mask.
pub fn mask(text: &str) -> Cow<'_, str> {
    // Each class of detectors runs only when a cheap byte-level pre-condition holds, so most
    // texts (no `@`, no link, no digit run shaped like a phone) cost a few scans and no allocation.
    let bytes = text.as_bytes();
    let has_at = text.contains('@');
    let mut hits = Vec::new(); // does not allocate until something is found
    if may_hold_link(text) {
        find_links(text, &mut hits);
    }
    if has_at || contains_any(text, &["собак", "Собак", "СОБАК"]) || has_ascii_word(bytes, b"at")
    {
        find_emails(text, &mut hits);
    }
    if has_at {
        find_handles(text, &mut hits);
    }
    if bytes.iter().any(u8::is_ascii_digit) {
        if contains_any(text, &["аспорт", "АСПОРТ", "сери", "Сери", "СЕРИ", "сер.", "Сер."])
        {
            find_passports(text, &mut hits);
        }
        find_numbers(text, &mut hits);
    }
    if hits.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16 * hits.len());
    let mut last = 0;
    for hit in &hits {
        out.push_str(&text[last..hit.start]);
        out.push_str(hit.with);
        last = hit.end;
    }
    out.push_str(&text[last..]);
    Cow::Owned(out)
}

fn contains_any(text: &str, needles: &[&str]) -> bool {
    needles.iter().any(|needle| text.contains(needle))
}

/// `word` (ASCII, any case) standing alone, as the `at` of `ivan at mail.ru`.
fn has_ascii_word(bytes: &[u8], word: &[u8]) -> bool {
    let alone = |b: Option<&u8>| !b.is_some_and(u8::is_ascii_alphanumeric);
    bytes.windows(word.len()).enumerate().any(|(at, w)| {
        w.eq_ignore_ascii_case(word)
            && alone(at.checked_sub(1).and_then(|k| bytes.get(k)))
            && alone(bytes.get(at + word.len()))
    })
}

/// A scheme, `www.` or an ASCII letter before a slash (`vk.com/…`, not `15/2` or `км/ч`).
fn may_hold_link(token: &str) -> bool {
    let bytes = token.as_bytes();
    token.contains("://")
        || bytes.windows(4).any(|w| w.eq_ignore_ascii_case(b"www."))
        || bytes.windows(2).any(|w| w[0].is_ascii_alphabetic() && w[1] == b'/')
}

/// The whitespace-free pieces of `text` with their byte offsets: no link or handle spans two,
/// so the patterns (slow without the regex crate's DFA) only read the few pieces that qualify.
fn tokens(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut from = 0;
    std::iter::from_fn(move || {
        let start = from + text[from..].find(|c: char| !c.is_whitespace())?;
        let end = text[start..].find(char::is_whitespace).map_or(text.len(), |len| start + len);
        from = end;
        Some((start, &text[start..end]))
    })
}

/// Links with a scheme or `www.`, and scheme-less links to the personal sites.
fn find_links(text: &str, hits: &mut Vec<Hit>) {
    for (at, token) in tokens(text).filter(|&(_, token)| may_hold_link(token)) {
        for caps in URL.captures_iter(token) {
            if let Some(url) = caps.name("url") {
                let kept = trim_link(url.as_str());
                take(hits, at + url.start(), at + url.start() + kept.len(), LINK);
            }
        }
    }
}

/// Drops the sentence punctuation, closing quotes and unbalanced closing brackets that prose
/// glues to the end of a link: `см. https://vk.com/id1.`, `(vk.com/id1)`.
fn trim_link(mut url: &str) -> &str {
    while let Some(c) = url.chars().next_back() {
        let strip = match c {
            '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '’' | '›' => true,
            ')' => url.matches(')').count() > url.matches('(').count(),
            _ => false,
        };
        if !strip {
            break;
        }
        url = &url[..url.len() - c.len_utf8()];
    }
    url
}

/// Bytes read before and after an `@`, `собака` or `at` for the address around it.
const EMAIL_REACH: (usize, usize) = (96, 160);

/// Where an e-mail may be: every `@`, `собака` and standalone `at`.
fn email_triggers(text: &str) -> impl Iterator<Item = usize> {
    let bytes = text.as_bytes();
    text.char_indices().filter_map(move |(at, c)| {
        let trigger = match c {
            '@' => true,
            'с' | 'С' => word_is(&text[at..], "собак*"),
            'a' | 'A' => {
                has_ascii_word(&bytes[at.saturating_sub(1)..bytes.len().min(at + 3)], b"at")
            }
            _ => false,
        };
        trigger.then_some(at)
    })
}

/// Plain and obfuscated e-mails, read in a window around each `@`, `собака` or `at`.
fn find_emails(text: &str, hits: &mut Vec<Hit>) {
    let mut searched_to = 0;
    for trigger in email_triggers(text) {
        if trigger + EMAIL_REACH.1 <= searched_to {
            continue; // the window before already covered this one
        }
        // A window around the trigger, widened to whole words so no address is cut.
        let mut start = trigger.saturating_sub(EMAIL_REACH.0);
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        start = text[..start].rfind(char::is_whitespace).map_or(0, |p| p + 1);
        while !text.is_char_boundary(start) {
            start += 1;
        }
        let mut end = text.len().min(trigger + EMAIL_REACH.1);
        while !text.is_char_boundary(end) {
            end += 1;
        }
        end = text[end..].find(char::is_whitespace).map_or(text.len(), |p| end + p);
        searched_to = end;
        for caps in EMAIL_RE.captures_iter(&text[start..end]) {
            let Some(whole) = caps.get(0) else { continue };
            let spelled_out = !whole.as_str().contains(['@', '[', '(', '{', '<']);
            let tld_known = caps.name("tld").is_some_and(|tld| {
                let tld = tld.as_str().to_lowercase();
                KNOWN_TLDS.contains(&tld.as_str())
            });
            // «ivan собака mail.ru» is an address, «собака лает.Всю ночь» is prose.
            if !spelled_out || tld_known {
                take(hits, start + whole.start(), start + whole.end(), EMAIL);
            }
        }
    }
}

/// Handles anywhere but inside an e-mail (those were taken before): `ник:@ivan`, `(@ivan)`.
fn find_handles(text: &str, hits: &mut Vec<Hit>) {
    for (at, token) in tokens(text).filter(|&(_, token)| token.contains('@')) {
        for caps in HANDLE.captures_iter(token) {
            if let Some(handle) = caps.name("handle") {
                take(hits, at + handle.start(), at + handle.end(), LINK);
            }
        }
    }
}

/// Passport series and numbers after `паспорт` or `серия`.
fn find_passports(text: &str, hits: &mut Vec<Hit>) {
    if !PASSPORT_RE.is_match(text) {
        return; // no capture buffers for «серия домов», «паспортный стол» and the like
    }
    for caps in PASSPORT_RE.captures_iter(text) {
        let (Some(cue), Some(num)) = (caps.name("cue"), caps.name("num")) else { continue };
        let cue = cue.as_str().to_lowercase();
        let series = caps.name("series").is_some();
        // «серия» alone needs the series digits; a bare six-digit number needs the noun
        // «паспорт» itself («паспортный стол 234567» is an office, not a document).
        let accepted = if cue.starts_with("сер") {
            series
        } else {
            series || !cue.starts_with("паспортн")
        };
        if accepted {
            take(hits, num.start(), num.end(), PASSPORT);
        }
    }
}

/// The spaces of [`WS`], as a predicate for the hand-written scanners.
fn is_space(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\u{A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    )
}

/// Hyphen-minus, every Unicode hyphen and dash (U+2010–U+2015), the minus sign and their
/// small and full-width forms: editors swap them freely between digit groups.
fn is_dash(c: char) -> bool {
    matches!(c, '-' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}')
}

/// Byte length of at most `max` spaces at the start of `s`.
fn leading_spaces(s: &str, max: usize) -> usize {
    s.chars().take(max).take_while(|&c| is_space(c)).map(char::len_utf8).sum()
}

/// Byte length of at most `max` spaces at the end of `s`.
fn trailing_spaces(s: &str, max: usize) -> usize {
    s.chars().rev().take(max).take_while(|&c| is_space(c)).map(char::len_utf8).sum()
}

/// Byte length of the separator at the start of `s` when a digit follows it: up to two spaces,
/// or one dash, dot or bracket with up to two spaces on each side.
fn separator_len(s: &str) -> Option<usize> {
    let spaces = leading_spaces(s, 2);
    let digit_at = |at: usize| s[at..].starts_with(|c: char| c.is_ascii_digit());
    match s[spaces..].chars().next() {
        Some(c) if is_dash(c) || matches!(c, '.' | '(' | ')') => {
            let len = spaces + c.len_utf8();
            let len = len + leading_spaces(&s[len..], 2);
            digit_at(len).then_some(len)
        }
        _ => (spaces > 0 && digit_at(spaces)).then_some(spaces),
    }
}

/// A run of digit groups with the separators between them: the candidate for a phone or SNILS.
struct Scan {
    /// Start of the run, with a `+` and opening brackets written before the first digit.
    start: usize,
    end: usize,
    /// Byte ranges of the digit groups.
    groups: [(usize, usize); MAX_GROUPS],
    count: usize,
}

/// The next run of digit groups at or after byte `from`.
fn next_run(text: &str, from: usize) -> Option<Scan> {
    let bytes = text.as_bytes();
    let first = from + bytes.get(from..)?.iter().position(u8::is_ascii_digit)?;
    let mut start = first;
    for mark in ['(', '+', '('] {
        let before = &text[..start];
        let before = &before[..before.len() - trailing_spaces(before, 2)];
        if let Some(rest) = before.strip_suffix(mark) {
            start = rest.len();
        }
    }
    let mut scan = Scan { start, end: first, groups: [(0, 0); MAX_GROUPS], count: 0 };
    let mut pos = first;
    while scan.count < MAX_GROUPS {
        let digits = bytes[pos..].iter().take_while(|b| b.is_ascii_digit()).count();
        scan.groups[scan.count] = (pos, pos + digits);
        scan.count += 1;
        pos += digits;
        scan.end = pos;
        match separator_len(&text[pos..]) {
            Some(len) => pos += len,
            None => break,
        }
    }
    Some(scan)
}

/// What the words right before a digit run say about it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    /// Nothing special.
    Plain,
    /// A phone cue word: short and oddly grouped numbers count as phones.
    PhoneCue,
    /// The word СНИЛС: eleven digits are a SNILS.
    Snils,
    /// `№`, a house, flat or route word, or a label glued to the number (`ЦУР-2026`): the run
    /// may not start with a short local number.
    Numbered,
    /// ИНН, ОГРН, account and policy numbers: the run holds no phone at all.
    Document,
}

/// Codes of organisations and accounts: the number after them is never a phone (a 10-digit ИНН
/// of a Yugra organisation starts with 86, like a Krasnodar area code). Word lists here are
/// space-separated; a trailing `*` makes a prefix.
const DOCUMENT_WORDS: &str = "инн огрн* кпп бик окпо октмо окато р/с к/с л/с полис* омс";
/// Words that may stand between «СНИЛС» and its number: «СНИЛС ребёнка 123…».
const SNILS_FILLERS: &str = concat!(
    "ребёнка ребенка мамы матери отца сына дочери мужа жены супруга супруги заявителя мой ",
    "моего моей его её ее",
);
/// Words right before a number that say it is a phone: then any 5–7 digits are a phone too.
const PHONE_WORDS: &str = concat!(
    "тел телефон* тлф моб мобильн* сот сотов* номер номеру звон* позвон* контакт* факс т/ф ",
    "whatsapp вацап* ватсап* вотсап* viber вайбер* telegram телеграм* tel phone mob",
);
/// Words after which «номер» numbers a document or a place: «обращение номер 123456».
const NUMBER_OWNERS: &str = concat!(
    "обращени* заявк* заявлени* дел* договор* счёт* счет* квитанци* лицев* маршрут* школ* ",
    "сад* поликлиник* больниц* кабинет* дом* квартир* участк* рейс* автобус* документ* ",
    "приказ* постановлени* решени* протокол* акт* регистрационн* входящ* исходящ* ",
    "кадастров* паспорт* полис* удостоверени* заказ* посылк* трек* отправлени* очеред*",
);
/// House, flat, route, school and file words: the number after them is not a short phone.
const NUMBERED_WORDS: &str = concat!(
    "n no д дом дома доме дому домом домах домов кв квартир* корп корпус* стр строени* уч ",
    "участок участка участке участку участком участки участков маршрут* автобус* школ* ",
    "сад* поликлиник* кабинет* каб офис* оф обращени* заявк* дело дела",
);

/// `word` equals `pattern` ignoring case, or starts with it when the pattern ends with `*`.
fn word_is(word: &str, pattern: &str) -> bool {
    let mut letters = word.chars().flat_map(char::to_lowercase);
    match pattern.strip_suffix('*') {
        Some(prefix) => prefix.chars().all(|p| letters.next() == Some(p)),
        None => pattern.chars().all(|p| letters.next() == Some(p)) && letters.next().is_none(),
    }
}

/// `word` is one of the space-separated `patterns` (see [`word_is`]).
fn word_in(word: &str, patterns: &str) -> bool {
    !word.is_empty() && patterns.split(' ').any(|pattern| word_is(word, pattern))
}

/// Splits the last word (letters and `/`, as in `т/ф`) off the end of `s`.
fn split_last_word(s: &str) -> (&str, &str) {
    let start = s
        .char_indices()
        .rev()
        .take_while(|&(_, c)| c.is_alphabetic() || c == '/')
        .last()
        .map_or(s.len(), |(at, _)| at);
    s.split_at(start)
}

/// Splits the word before `rest`'s end off it when only spaces separate them.
fn split_previous_word(rest: &str) -> (&str, &str) {
    let trimmed = rest.trim_end_matches(is_space);
    if trimmed.len() == rest.len() { (rest, "") } else { split_last_word(trimmed) }
}

/// Reads the words right before a digit run (hand-written: it runs for every long digit run,
/// and a regex here would be the slowest part of masking).
fn context_before(before: &str) -> Context {
    // `тел.: `, `номер - `, `СНИЛС № ` — punctuation between the cue word and the number.
    let body = before.trim_end_matches(|c: char| c.is_whitespace() || ":№#.-–—".contains(c));
    let between = &before[body.len()..];
    let (rest, word) = split_last_word(body);
    let (rest, prev) = split_previous_word(rest);
    let (_, prev2) = split_previous_word(rest);
    // `WhatsApp/Viber:`, `тел/факс`: the part after the slash may be the cue.
    let after_slash = word.rsplit('/').next().unwrap_or(word);
    let is = |patterns: &str| word_in(word, patterns) || word_in(after_slash, patterns);
    if is(DOCUMENT_WORDS) || word_in(word, "счёт* счет*") && word_is(prev, "лицев*") {
        return Context::Document;
    }
    let snils = |w: &str| word_is(w, "снилс*");
    let filler = |w: &str| word_in(w, SNILS_FILLERS);
    if snils(word) || filler(word) && (snils(prev) || filler(prev) && snils(prev2)) {
        return Context::Snils;
    }
    let phone_pair = (word_in(word, "по на") && word_in(prev, "звон* позвон*"))
        || (word_is(word, "app") && word_is(prev, "whats"))
        || (word_is(word, "т") && between.starts_with('.'));
    if phone_pair || is(PHONE_WORDS) {
        let owned = word_in(word, "номер номеру") && word_in(prev, NUMBER_OWNERS);
        return if owned { Context::Numbered } else { Context::PhoneCue };
    }
    if is(NUMBERED_WORDS) || between.contains(['№', '#']) || glued_to_label(before) {
        return Context::Numbered;
    }
    Context::Plain
}

/// The run continues a word or a label: `ЦУР-2026-000123`, `кв48`, `А/123456`.
fn glued_to_label(before: &str) -> bool {
    let mut rev = before.chars().rev();
    match rev.next() {
        Some(c) if c.is_alphanumeric() || c == '_' => true,
        Some(c) if is_dash(c) || c == '/' || c == '\\' => {
            rev.next().is_some_and(|p| p.is_alphanumeric())
        }
        _ => false,
    }
}

/// How two digit groups of a run are separated.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sep {
    /// A dash with no space around it: `34-56`.
    Tight,
    /// Spaces, or a dash with spaces around it: `34 56`, `48 - 23`.
    Spaced,
    /// A dot, with or without spaces: `345.67`.
    Dot,
    /// A bracket: `8 (912) 345`.
    Bracket,
}

fn sep_kind(sep: &str) -> Sep {
    if sep.contains(['(', ')']) {
        Sep::Bracket
    } else if sep.contains('.') {
        Sep::Dot
    } else if sep.chars().all(is_dash) {
        Sep::Tight
    } else {
        Sep::Spaced
    }
}

/// One candidate run of digit groups and what surrounds it.
struct Run<'t> {
    text: &'t str,
    /// Byte ranges of the digit groups in `text`.
    groups: &'t [(usize, usize)],
    context: Context,
    /// A `+` precedes the first group.
    plus: bool,
    /// The text right after the run.
    after: &'t str,
}

impl Run<'_> {
    fn last(&self) -> usize {
        self.groups.len() - 1
    }

    fn len(&self, k: usize) -> usize {
        self.groups[k].1 - self.groups[k].0
    }

    fn sep(&self, k: usize) -> Sep {
        sep_kind(&self.text[self.groups[k].1..self.groups[k + 1].0])
    }

    /// The `k`-th digit counted from the start of group `i`.
    fn digit(&self, i: usize, mut k: usize) -> u8 {
        for &(start, end) in &self.groups[i..] {
            if k < end - start {
                return self.text.as_bytes()[start + k];
            }
            k -= end - start;
        }
        0
    }

    /// Groups `i..=j` stand apart inside the run: spaces or brackets around them, and no letter,
    /// unit or fraction glued after the run (`22 33 44 рублей`, `2-34-56/1`).
    fn set_off(&self, i: usize, j: usize) -> bool {
        let apart = |k: usize| matches!(self.sep(k), Sep::Spaced | Sep::Bracket);
        if (i > 0 && !apart(i - 1)) || (j < self.last() && !apart(j)) {
            return false;
        }
        j < self.last()
            || !(self.after.starts_with(|c: char| c.is_alphanumeric() || "/\\".contains(c))
                || UNIT_AFTER.is_match(self.after))
    }

    /// The last group of a SNILS starting at group `i`: 11 digits after the word СНИЛС, or the
    /// `123-456-789 01` grouping, which no phone, date or sum has, anywhere.
    fn snils_end(&self, i: usize) -> Option<usize> {
        if i == 0 && self.context == Context::Snils {
            let mut n = 0;
            for j in 0..=self.last() {
                n += self.len(j);
                if n >= 11 {
                    return (n == 11).then_some(j);
                }
            }
            return None;
        }
        let j = i + 3;
        let shaped = j <= self.last()
            && (i..=j).map(|k| self.len(k)).eq([3, 3, 3, 2])
            && (i..j).all(|k| matches!(self.sep(k), Sep::Tight | Sep::Spaced));
        (shaped && self.set_off(i, j)).then_some(j)
    }

    /// Whether groups `i..=j` form one phone number.
    fn is_phone(&self, i: usize, j: usize) -> bool {
        let mut lens = [0; MAX_PHONE_GROUPS];
        for (len, k) in lens.iter_mut().zip(i..=j) {
            *len = self.len(k);
        }
        let lens = &lens[..=j - i];
        let n: usize = lens.iter().sum();
        let cue = i == 0 && self.context == Context::PhoneCue;
        if i == 0 && self.plus {
            // `+7 …`, and foreign numbers of migrants and relatives: `+998 90 123 45 67`.
            return (10..=13).contains(&n);
        }
        let first = self.digit(i, 0);
        match n {
            10 | 11 => {
                let dotted = (i..j).any(|k| self.sep(k) == Sep::Dot);
                // Dots also separate dates and amounts: only the usual phone groupings.
                if dotted
                    && !cue
                    && !matches!(lens, [1, 3, 3, 2, 2] | [3, 3, 2, 2] | [1, 3, 3, 4] | [3, 3, 4])
                {
                    return false;
                }
                let second = self.digit(i, 1);
                // Russian numbers: trunk 7/8, then an area code of 3xx, 4xx, 8xx or 9xx, written
                // `8 912…`, `8-9123…` or solid; 10 digits start with the area code, grouped, or
                // solid only for mobiles (a solid `86…` is rather the ИНН of an organisation).
                if n == 11 {
                    matches!(first, b'7' | b'8')
                        && matches!(second, b'3' | b'4' | b'8' | b'9')
                        && (cue || matches!(lens[0], 1 | 4 | 11))
                } else {
                    match first {
                        b'9' => cue || matches!(lens[0], 3 | 4 | 10),
                        b'3' | b'4' | b'8' => cue || matches!(lens[0], 3..=5),
                        _ => false,
                    }
                }
            }
            5..=7 => self.is_local(i, j, lens, cue, first),
            _ => false,
        }
    }

    /// A short city number: `2-34-56`, `23-45-67`, `234-56-78`, `22 33 44`, or any 5–7 digits
    /// right after a phone cue word. A bare 5–7 digit run without a cue is a postcode or a
    /// document number, never a phone.
    fn is_local(&self, i: usize, j: usize, lens: &[usize], cue: bool, first: u8) -> bool {
        if (i == 0 && self.context == Context::Numbered) || first == b'0' || !self.set_off(i, j) {
            return false;
        }
        let inside = (i < j).then(|| self.sep(i));
        // Inside a longer run only a tight number counts, or `15 22 33 44` would yield a phone.
        if (i > 0 || j < self.last()) && inside == Some(Sep::Spaced) {
            return false;
        }
        if cue {
            let (last, rest) = lens.split_last().unwrap_or((&0, &[]));
            return rest.is_empty() || rest.iter().all(|&l| l <= 3) && *last <= 4;
        }
        (i..j).all(|k| Some(self.sep(k)) == inside)
            && match inside {
                Some(Sep::Tight) => matches!(lens, [3, 2, 2] | [2, 2, 2] | [1, 2, 2] | [3, 4]),
                Some(Sep::Spaced) => matches!(lens, [3, 2, 2] | [2, 2, 2] | [1, 2, 2]),
                _ => false,
            }
    }

    /// Byte range to mask for groups `i..=j`, with the `+` and the brackets that belong to them.
    fn bounds(&self, run_start: usize, i: usize, j: usize) -> (usize, usize) {
        let mut start = if i == 0 { run_start } else { self.groups[i].0 };
        let end = self.groups[j].1;
        let span = &self.text[start..end];
        let (opens, closes) = (span.matches('(').count(), span.matches(')').count());
        if closes > opens && i > 0 {
            // `15 (912) 345-67-89`: take the opening bracket of the area code too.
            let gap = &self.text[self.groups[i - 1].1..self.groups[i].0];
            if let Some(p) = gap.rfind('(') {
                start = self.groups[i - 1].1 + p;
            }
        } else if opens > closes {
            // `(23-45-67)`: the closing bracket stays outside, so the opening one does too.
            start += span.find(|c: char| c == '+' || c.is_ascii_digit()).unwrap_or(0);
        }
        (start, end)
    }
}

/// SNILS and phone numbers among the digit runs of `text`.
fn find_numbers(text: &str, hits: &mut Vec<Hit>) {
    let mut from = 0;
    while let Some(scan) = next_run(text, from) {
        from = scan.end;
        let groups = &scan.groups[..scan.count];
        // 112, 122, house numbers and years never reach the costlier checks below.
        if groups.iter().map(|(s, e)| e - s).sum::<usize>() < 5 {
            continue;
        }
        let context = context_before(&text[..scan.start]);
        if context == Context::Document {
            continue;
        }
        let run = Run {
            text,
            groups,
            context,
            plus: text[scan.start..groups[0].0].contains('+'),
            after: &text[scan.end..],
        };
        let mut i = 0;
        while i < scan.count {
            if let Some(j) = run.snils_end(i) {
                take(hits, groups[i].0, groups[j].1, SNILS);
                i = j + 1;
                continue;
            }
            let longest =
                (i..scan.count.min(i + MAX_PHONE_GROUPS)).rev().find(|&j| run.is_phone(i, j));
            if let Some(j) = longest {
                let (start, end) = run.bounds(scan.start, i, j);
                take(hits, start, end, PHONE);
                i = j + 1;
            } else {
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Positive rows in which every digit belongs to a phone number.
    const PHONES: &[(&str, &str)] = &[
        (
            "Звоните +7 (912) 345-67-89 после обеда, я работаю в ночь.",
            "Звоните [телефон скрыт] после обеда, я работаю в ночь.",
        ),
        (
            "Мой номер 89123456789, перезвоните по поводу отключения воды.",
            "Мой номер [телефон скрыт], перезвоните по поводу отключения воды.",
        ),
        (
            "Сургут, тел. 8-912-345-67-89, прошу перезвонить.",
            "Сургут, тел. [телефон скрыт], прошу перезвонить.",
        ),
        ("Связь со мной: +79123456789", "Связь со мной: [телефон скрыт]"),
        (
            "Диспетчер ЖЭУ по номеру 34-56-78 не отвечает третий день.",
            "Диспетчер ЖЭУ по номеру [телефон скрыт] не отвечает третий день.",
        ),
        (
            "Прошу перезвонить на 8.912.345.67.89 в любое время.",
            "Прошу перезвонить на [телефон скрыт] в любое время.",
        ),
        ("Контактный телефон: 912.345.67.89.", "Контактный телефон: [телефон скрыт]."),
        (
            "Сосед из Нижневартовска оставил номер 8–912–345–67–89, но трубку не берёт.",
            "Сосед из Нижневартовска оставил номер [телефон скрыт], но трубку не берёт.",
        ),
        ("Старшая по дому — 8—912—345—67—89.", "Старшая по дому — [телефон скрыт]."),
        (
            "Телефон председателя ТСЖ 8−912−345−67−89, звонить вечером.",
            "Телефон председателя ТСЖ [телефон скрыт], звонить вечером.",
        ),
        (
            "Мастер оставил телефон 8\u{2011}912\u{2011}345\u{2011}67\u{2011}89 и не пришёл.",
            "Мастер оставил телефон [телефон скрыт] и не пришёл.",
        ),
        (
            "Звонила 8\u{2010}912\u{2012}345\u{2015}67\u{2010}89 — без ответа.",
            "Звонила [телефон скрыт] — без ответа.",
        ),
        ("Мой мобильный +7\u{a0}912\u{a0}345\u{a0}67\u{a0}89.", "Мой мобильный [телефон скрыт]."),
        (
            "Телефон для связи 8\u{202f}912\u{202f}345\u{202f}67\u{202f}89, Ханты-Мансийск.",
            "Телефон для связи [телефон скрыт], Ханты-Мансийск.",
        ),
        (
            "Жительница Когалыма, 8\u{2009}(912)\u{2009}345\u{2009}67\u{2009}89.",
            "Жительница Когалыма, [телефон скрыт].",
        ),
        ("Перезвоните по номеру 8 912 3456789.", "Перезвоните по номеру [телефон скрыт]."),
        ("Мой телефон +7 912 34 56 789, Лангепас.", "Мой телефон [телефон скрыт], Лангепас."),
        ("Телефон 8(912)3456789, Анна Петровна.", "Телефон [телефон скрыт], Анна Петровна."),
        ("Прошу связаться: 8-9123-45-67-89.", "Прошу связаться: [телефон скрыт]."),
        ("Номер для связи +7-912-345-6789.", "Номер для связи [телефон скрыт]."),
        (
            "Городской 8 (3462) 34-56-78, вечером не звонить.",
            "Городской [телефон скрыт], вечером не звонить.",
        ),
        (
            "В Ханты-Мансийске звонила по (3467) 33-44-55 — занято.",
            "В Ханты-Мансийске звонила по [телефон скрыт] — занято.",
        ),
        (
            "Звоните соседке, 2-34-56, она откроет подвал.",
            "Звоните соседке, [телефон скрыт], она откроет подвал.",
        ),
        ("Домашний 234-56-78, спросить Ольгу.", "Домашний [телефон скрыт], спросить Ольгу."),
        (
            "В Пыть-Яхе дежурный 22 33 44 трубку не берёт.",
            "В Пыть-Яхе дежурный [телефон скрыт] трубку не берёт.",
        ),
        ("Для связи тел. 234567, Мария.", "Для связи тел. [телефон скрыт], Мария."),
        (
            "В деревне один телефон 56789 на всех.",
            "В деревне один телефон [телефон скрыт] на всех.",
        ),
        ("Звоните 1234567 после шести вечера.", "Звоните [телефон скрыт] после шести вечера."),
        ("Можно звонить по 234567 в будни.", "Можно звонить по [телефон скрыт] в будни."),
        ("Оставляю номер 345678, это домашний.", "Оставляю номер [телефон скрыт], это домашний."),
        ("сот. 2345678 — это мой.", "сот. [телефон скрыт] — это мой."),
        ("Пишите в вацап 9123456789.", "Пишите в вацап [телефон скрыт]."),
        ("WhatsApp: 345678, Светлана.", "WhatsApp: [телефон скрыт], Светлана."),
        ("Председатель совета дома, т. 234567.", "Председатель совета дома, т. [телефон скрыт]."),
        ("Нефтеюганск, 8 (34612) 2-34-56.", "Нефтеюганск, [телефон скрыт]."),
        ("тел.:8(3466)41-22-33", "тел.:[телефон скрыт]"),
        (
            "Звонила на 8 912 345 67 89 и на 8 (3462) 23-45-67, никто не ответил.",
            "Звонила на [телефон скрыт] и на [телефон скрыт], никто не ответил.",
        ),
        (
            "Сын работает вахтой, его номер +998 90 123 45 67.",
            "Сын работает вахтой, его номер [телефон скрыт].",
        ),
        ("моб. 8 912 345 67 89", "моб. [телефон скрыт]"),
        ("Тел./факс приёмной ТСЖ 8 (3463) 22-33-44.", "Тел./факс приёмной ТСЖ [телефон скрыт]."),
        (
            "Номер мастера (8 912 345 67 89) дал диспетчер.",
            "Номер мастера ([телефон скрыт]) дал диспетчер.",
        ),
        ("Мой номер (+7 912 345-67-89), звоните.", "Мой номер ([телефон скрыт]), звоните."),
        ("Звоните на 23 45 67.", "Звоните на [телефон скрыт]."),
        ("мой номер 89123456789", "мой номер [телефон скрыт]"),
        ("диспетчер 34-56-78 не отвечает", "диспетчер [телефон скрыт] не отвечает"),
        ("Телефон:\n234567\nМария Ивановна", "Телефон:\n[телефон скрыт]\nМария Ивановна"),
        ("моб. 234567, после семи не звонить", "моб. [телефон скрыт], после семи не звонить"),
        ("Звоните +7 (912) 345-67-89 после обеда", "Звоните [телефон скрыт] после обеда"),
        ("тел. 8-912-345-67-89", "тел. [телефон скрыт]"),
        ("+79123456789", "[телефон скрыт]"),
        ("городской 8 (3462) 34-56-78", "городской [телефон скрыт]"),
    ];

    /// Positive rows for e-mails, links, handles, SNILS, passports and mixed texts.
    const OTHERS: &[(&str, &str)] = &[
        (
            "Прошу ответить на ivan.petrov@mail.ru, а не по почте.",
            "Прошу ответить на [e-mail скрыт], а не по почте.",
        ),
        ("Ответ направьте на иванова@почта.рф.", "Ответ направьте на [e-mail скрыт]."),
        ("Мой адрес ivan.petrov[at]mail.ru, пишите.", "Мой адрес [e-mail скрыт], пишите."),
        ("Почта: ivan.petrov (at) mail.ru", "Почта: [e-mail скрыт]"),
        ("Пишите ivan(собака)mail.ru.", "Пишите [e-mail скрыт]."),
        ("e-mail: ivan собака mail.ru", "e-mail: [e-mail скрыт]"),
        ("Адрес для ответа ivan@mail[.]ru", "Адрес для ответа [e-mail скрыт]"),
        (
            "Пишите на ivan [dot] petrov [at] mail [dot] ru, отвечу.",
            "Пишите на [e-mail скрыт], отвечу.",
        ),
        (
            "Электронка: petrova_86@yandex.ru; телефон не даю.",
            "Электронка: [e-mail скрыт]; телефон не даю.",
        ),
        ("Мой ник:@ivan_petrov в телеграме.", "Мой ник:[ссылка скрыта] в телеграме."),
        (
            "Пишите в телеграм (@ivan), отвечу быстро.",
            "Пишите в телеграм ([ссылка скрыта]), отвечу быстро.",
        ),
        (
            "Канал «@ivan_p» распространяет мои фото.",
            "Канал «[ссылка скрыта]» распространяет мои фото.",
        ),
        ("Контакты: Иван,@ivan_surgut", "Контакты: Иван,[ссылка скрыта]"),
        ("Фото ямы см. https://vk.com/id1.", "Фото ямы см. [ссылка скрыта]."),
        ("Моя страница (vk.com/id1) взломана.", "Моя страница ([ссылка скрыта]) взломана."),
        ("Группа «t.me/surgut_dom», там всё видно!", "Группа «[ссылка скрыта]», там всё видно!"),
        (
            "Видео тут: \"https://ok.ru/video/123\"; посмотрите?",
            "Видео тут: \"[ссылка скрыта]\"; посмотрите?",
        ),
        ("Напишите мне wa.me/79123456789!", "Напишите мне [ссылка скрыта]!"),
        (
            "Ссылка api.whatsapp.com/send?phone=79123456789 не работает?",
            "Ссылка [ссылка скрыта] не работает?",
        ),
        ("Чат дома: chat.whatsapp.com/AbCdEf123456", "Чат дома: [ссылка скрыта]"),
        (
            "Вайбер viber://chat?number=%2B79123456789, группа invite.viber.com/?g2=AQBx1234.",
            "Вайбер [ссылка скрыта], группа [ссылка скрыта].",
        ),
        (
            "Канал t.me/ivan_petrov и telegram.me/ivan_petrov, бот tg://resolve?domain=ivan_p.",
            "Канал [ссылка скрыта] и [ссылка скрыта], бот [ссылка скрыта].",
        ),
        (
            "Профили: vk.ru/ivan86, m.vk.com/id12345, ok.ru/profile/575123456789.",
            "Профили: [ссылка скрыта], [ссылка скрыта], [ссылка скрыта].",
        ),
        (
            "Фото выложены на instagram.com/ivan_p и instagr.am/p/Cx12ab: сами смотрите.",
            "Фото выложены на [ссылка скрыта] и [ссылка скрыта]: сами смотрите.",
        ),
        (
            "Пишите в Max: max.ru/u/ivan или web.max.ru/#/chat/123.",
            "Пишите в Max: [ссылка скрыта] или [ссылка скрыта].",
        ),
        (
            "Блог dzen.ru/ivan_surgut и youtube.com/@ivan_surgut — там видео.",
            "Блог [ссылка скрыта] и [ссылка скрыта] — там видео.",
        ),
        (
            "Подробнее на https://admhmao.ru/obrashcheniya/, спасибо.",
            "Подробнее на [ссылка скрыта], спасибо.",
        ),
        ("Сайт ТСЖ www.surgut-dom.ru…", "Сайт ТСЖ [ссылка скрыта]…"),
        ("СНИЛС 123-456-789 01 указан неверно.", "СНИЛС [СНИЛС скрыт] указан неверно."),
        ("В заявлении СНИЛС: 123 456 789 01.", "В заявлении СНИЛС: [СНИЛС скрыт]."),
        ("СНИЛС 12345678901, прошу исправить.", "СНИЛС [СНИЛС скрыт], прошу исправить."),
        (
            "Номер страхового свидетельства 123-456-789-01 не принимают.",
            "Номер страхового свидетельства [СНИЛС скрыт] не принимают.",
        ),
        ("Снилс ребёнка 81234567890.", "Снилс ребёнка [СНИЛС скрыт]."),
        (
            "Паспорт 67 12 345678 выдан ОУФМС по ХМАО.",
            "Паспорт [паспорт скрыт] выдан ОУФМС по ХМАО.",
        ),
        ("Данные: паспорт серия 6712 номер 345678.", "Данные: паспорт серия [паспорт скрыт]."),
        ("Прилагаю копию, серия 67 12 № 345678.", "Прилагаю копию, серия [паспорт скрыт]."),
        ("паспорт 6712345678", "паспорт [паспорт скрыт]"),
        (
            "Номер паспорта: 7110 123456, выдан 12.03.2015.",
            "Номер паспорта: [паспорт скрыт], выдан 12.03.2015.",
        ),
        (
            "Сургут, ул. Ленина, д. 15, кв. 48, тел. 23-45-67.",
            "Сургут, ул. Ленина, д. 15, кв. 48, тел. [телефон скрыт].",
        ),
        ("ИНН 8602012345, тел. 8 (3462) 23-45-67.", "ИНН 8602012345, тел. [телефон скрыт]."),
        ("Кв. 48 23-45-67 Иванова", "Кв. 48 [телефон скрыт] Иванова"),
        (
            "Заявка от 12.03.2025, звонить 8 912 345 67 89 после 18:00.",
            "Заявка от 12.03.2025, звонить [телефон скрыт] после 18:00.",
        ),
        (
            "Обращение № 86-2026-0001253: перезвоните на 89123456789.",
            "Обращение № 86-2026-0001253: перезвоните на [телефон скрыт].",
        ),
        (
            "Пишите на ivanova.m@mail.ru или иванова@почта.рф, профиль vk.com/id12345, \
             https://t.me/ivanova_m и @ivanova_m.",
            "Пишите на [e-mail скрыт] или [e-mail скрыт], профиль [ссылка скрыта], \
             [ссылка скрыта] и [ссылка скрыта].",
        ),
        (
            "городской 8 (3462) 34-56-78, дом 5, паспорт 7110 123456, СНИЛС 123-456-789 01",
            "городской [телефон скрыт], дом 5, паспорт [паспорт скрыт], СНИЛС [СНИЛС скрыт]",
        ),
    ];

    /// Negative rows: each must come back unchanged and borrowed.
    const UNCHANGED: &[&str] = &[
        "С 12.03.2025 в доме 15 по ул. Ленина нет горячей воды, кв. 48.",
        "Заплатили 15 000 рублей, а ремонт не сделан с 2023-2024 гг.",
        "Обращение ЦУР-2026-000123 закрыто без ответа",
        "Обращение 86-2026-0001253 от 12.03.25 до сих пор не рассмотрено.",
        "Ул. Мира, дом 15/2, корп. 3, стр. 1, подъезд 4, кв. 48.",
        "Отключение воды 2025-03-12 с 9:00 до 18:00.",
        "Приём граждан в 14:30, обед 13.00-14.00.",
        "На ремонт дороги выделено 1 500 000 руб., а ям меньше не стало.",
        "Переплата 2 345,67 ₽ так и не возвращена.",
        "Маршрут № 12 и автобус 21 ходят раз в час.",
        "В школе № 5 и детском саду № 10 нет отопления.",
        "Поликлиника № 2 в Нижневартовске не записывает к терапевту.",
        "Индекс 628400, г. Сургут, ул. Энергетиков, д. 5.",
        "628 400, Ханты-Мансийский автономный округ – Югра, Сургут.",
        "Кадастровый номер участка 86:10:0101001:123 указан с ошибкой.",
        "Тариф на отопление вырос на 15 % с 1 июля 2025 года.",
        "Живу на 9 этаже, лифт не работает 3 месяца.",
        "В очереди 230 человек, а принимают 2 врача.",
        "Телефоны 112 и 122 работают круглосуточно, звоните 112.",
        "На 15 км трассы Сургут – Нижневартовск не убран снег.",
        "Мороз -25 градусов, а батареи холодные уже неделю.",
        "ИНН 8602012345 и ОГРН 1028600512345 управляющей компании указаны в договоре.",
        "Бродячая собака покусала ребёнка у дома 7 на ул. Гагарина.",
        "Обращение номер 123456 закрыто без ответа.",
        "Бездомная собака лает.Всю ночь не спим.",
        "Квитанция № 345678 так и не пришла.",
        "Сайт admhmao.ru не открывается с телефона.",
        "Температура в квартире +16, при норме +20.",
        "В 2024 году отремонтировали 12 домов из 40.",
        "Сумма долга 12 345 678 рублей не соответствует начислениям.",
        "Лицевой счёт 1234567 не найден в системе.",
        "Дата рождения 05.07.1985, стаж 25 лет.",
        "Срок исполнения 31.12.2024-15.01.2025 продлили без объяснений.",
        "Выделено 8 000 000 000 рублей на переселение из аварийного жилья.",
        "Сбор жителей в 9-00 у дома 5, с 10.00 до 12.00 работает комиссия.",
        "Дома 10, 12 и 14 по ул. Мира остались без света.",
        "Прошу убрать снег во дворе, техника не приезжала.",
        "Автобус 21 опаздывает на 15-20 минут, в салоне +5 °C.",
        "Протокол от 2025-03-12 № 15-2025 мне не выдали.",
        "В доме 1 234 квартиры и 2 школы.",
        "Паспортный стол в Нефтеюганске закрыт с 12.03.2025.",
        "Счёт № 12-34-56 выставлен управляющей компанией.",
        "Плата выросла на 12,5% за 2023–2024 годы.",
        "Расписание: 6:45, 7:15, 7:45, 8:15.",
        "С 01.02.2024 по 29.02.2024 не было воды 29 дней.",
        "Выход на работу с 12.03.25 в 8.00, смена до 20.00.",
    ];

    fn positives() -> impl Iterator<Item = &'static (&'static str, &'static str)> {
        PHONES.iter().chain(OTHERS)
    }

    #[test]
    fn masks_every_positive_row() {
        let failures: Vec<String> = positives()
            .filter(|&&(input, expected)| mask(input) != expected)
            .map(|&(input, expected)| {
                format!("\n input: {input}\n   got: {}\n  want: {expected}", mask(input))
            })
            .collect();
        assert!(failures.is_empty(), "{} rows failed:{}", failures.len(), failures.concat());
    }

    #[test]
    fn leaves_negative_rows_unchanged_and_borrowed() {
        for &input in UNCHANGED {
            let masked = mask(input);
            assert_eq!(masked, input, "input: {input}");
            assert!(matches!(masked, Cow::Borrowed(_)), "allocated for: {input}");
        }
    }

    #[test]
    fn masking_is_idempotent() {
        let inputs = positives().map(|&(input, _)| input).chain(UNCHANGED.iter().copied());
        for input in inputs {
            let once = mask(input).into_owned();
            let twice = mask(&once);
            assert_eq!(twice, once, "input: {input}");
            assert!(matches!(twice, Cow::Borrowed(_)), "masked text changed again: {once}");
        }
    }

    #[test]
    fn no_phone_digit_survives() {
        for &(input, _) in PHONES {
            let masked = mask(input);
            assert!(masked.contains(PHONE), "{input} -> {masked}");
            assert!(!masked.chars().any(|c| c.is_ascii_digit()), "{input} -> {masked}");
        }
    }

    #[test]
    fn tables_are_large_enough() {
        assert!(PHONES.len() + OTHERS.len() >= 45 && UNCHANGED.len() >= 35);
        assert!(positives().all(|&(input, expected)| input != expected));
    }
}
