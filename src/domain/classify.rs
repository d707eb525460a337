//! Classifies a Russian complaint text into a category when the source gives none: keyword
//! stems per category, matched against stemmed words, so "больница", "больницы", "больницу"
//! all hit the stem "больниц". Phrases weigh more than single words. Accuracy on the labelled
//! set in `tests/fixtures/classifier_labelled.tsv` is asserted by a test and stated in
//! benches/RESULTS.md.
use entity::Category;
use std::sync::LazyLock;

/// Endings stripped by [`stem`], longest first within each length.
const ENDINGS: &[&str] = &[
    "иями", "ями", "ами", "ого", "его", "ому", "ему", "ыми", "ими", "иях", "ией", "ах", "ях", "ам",
    "ям", "ом", "ем", "ой", "ей", "ий", "ый", "ая", "яя", "ое", "ее", "ые", "ие", "ую", "юю", "ов",
    "ев", "ию", "ия", "ью", "ья", "ье", "а", "я", "о", "е", "ы", "и", "у", "ю", "ь", "й",
];

/// Words shorter than this keep their endings (too little is left to compare otherwise).
const MIN_STEM: usize = 3;

/// A light Russian stemmer: lower case, ё as е, one inflectional ending removed.
pub fn stem(word: &str) -> String {
    let word: String =
        word.chars().flat_map(char::to_lowercase).map(|c| if c == 'ё' { 'е' } else { c }).collect();
    let len = word.chars().count();
    for ending in ENDINGS {
        let n = ending.chars().count();
        if len >= n + MIN_STEM && word.ends_with(ending) {
            return word[..word.len() - ending.len()].to_owned();
        }
    }
    word
}

/// Keyword stems and phrases of one category.
struct Dictionary {
    category: Category,
    stems: &'static [&'static str],
    phrases: &'static [&'static str],
}

static DICTIONARIES: &[Dictionary] = &[
    Dictionary {
        category: Category::Healthcare,
        stems: &[
            "больниц",
            "поликлиник",
            "врач",
            "терапевт",
            "педиатр",
            "медицин",
            "медик",
            "лекарств",
            "аптек",
            "рецепт",
            "инсулин",
            "талон",
            "регистратур",
            "фельдшер",
            "стоматолог",
            "кардиолог",
            "хирург",
            "онколог",
            "прививк",
            "вакцин",
            "диспансеризац",
            "госпитал",
            "роддом",
            "здравоохранен",
            "медпункт",
            "лечен",
            "анализ",
            "приемн",
            "пациент",
            "скорой",
            "скорая",
            "скорую",
        ],
        phrases: &["скорая помощь", "скорой помощи", "узких специалистов", "к врачу"],
    },
    Dictionary {
        category: Category::SocialProtection,
        stems: &[
            "пособи",
            "пенси",
            "выплат",
            "льгот",
            "инвалид",
            "многодетн",
            "соцзащит",
            "субсиди",
            "компенсац",
            "малоимущ",
            "опек",
            "сирот",
            "соцпомощ",
            "путевк",
            "санатор",
            "ветеран",
            "материнск",
            "нуждающ",
            "соцработник",
        ],
        phrases: &[
            "социальной поддержки",
            "социальное такси",
            "социальной защиты",
            "материнский капитал",
        ],
    },
    Dictionary {
        category: Category::HousingUtilities,
        stems: &[
            "отоплен",
            "батаре",
            "водоснабжен",
            "канализац",
            "управляющ",
            "жкх",
            "подъезд",
            "крыш",
            "лифт",
            "капремонт",
            "перерасчет",
            "коммунальн",
            "электричеств",
            "электроэнерг",
            "газоснабжен",
            "трубопровод",
            "протека",
            "теч",
            "прорыв",
            "квартир",
            "мусоропровод",
            "контейнер",
            "тариф",
            "счетчик",
            "сантехник",
            "аварийн",
            "жиль",
            "жилищ",
            "подвал",
        ],
        phrases: &[
            "горячей воды",
            "горячая вода",
            "холодной воды",
            "нет света",
            "вывоз мусора",
            "не вывозят мусор",
            "управляющая компания",
        ],
    },
    Dictionary {
        category: Category::Transport,
        stems: &[
            "автобус",
            "маршрут",
            "остановк",
            "расписан",
            "рейс",
            "проезд",
            "транспорт",
            "водител",
            "валидатор",
            "пассажир",
            "электричк",
            "маршрутк",
            "автовокзал",
            "перевозчик",
            "кондуктор",
        ],
        phrases: &["общественный транспорт"],
    },
    Dictionary {
        category: Category::Roads,
        stems: &[
            "дорог",
            "ям",
            "асфальт",
            "светофор",
            "переход",
            "тротуар",
            "фонар",
            "освещен",
            "коле",
            "обочин",
            "разметк",
            "перекрест",
            "гололед",
            "ямочн",
            "автодорог",
            "трасс",
            "мост",
            "выбоин",
            "ограждени",
            "пешеходн",
        ],
        phrases: &["дорожные знаки", "дорожного знака", "не чистят дорогу", "ремонт дороги"],
    },
    Dictionary {
        category: Category::Education,
        stems: &[
            "школ",
            "учител",
            "урок",
            "садик",
            "ученик",
            "дневник",
            "образован",
            "кружк",
            "экзамен",
            "егэ",
            "огэ",
            "воспитател",
            "педагог",
            "колледж",
            "первоклассник",
            "выпускник",
            "школьник",
            "учебн",
            "дошкольн",
        ],
        phrases: &["детский сад", "детском саду", "детского сада", "в детсад", "детсад"],
    },
    Dictionary {
        category: Category::Ecology,
        stems: &[
            "свалк",
            "отход",
            "выброс",
            "загрязн",
            "экологи",
            "вырубк",
            "вырубают",
            "деревь",
            "лес",
            "лесн",
            "рек",
            "нефтепродукт",
            "разлив",
            "собак",
            "животн",
            "дым",
            "гарь",
            "полигон",
            "мусоросжига",
            "сброс",
            "природ",
            "зелен",
        ],
        phrases: &["бродячие собаки", "бродячих собак", "сильный запах", "дышать невозможно"],
    },
    Dictionary {
        category: Category::Safety,
        stems: &[
            "шум",
            "пьян",
            "драк",
            "заброшен",
            "опасн",
            "пожар",
            "сигнализац",
            "сосульк",
            "люк",
            "полиц",
            "хулиган",
            "наркот",
            "безопасн",
            "криминал",
            "угроз",
            "мошенник",
            "вандал",
            "поджог",
            "охран",
        ],
        phrases: &["по ночам", "открытый люк", "опасно для"],
    },
    Dictionary {
        category: Category::Other,
        stems: &[
            "площадк",
            "велодорожк",
            "благоустр",
            "сквер",
            "мфц",
            "предлага",
            "скамейк",
            "парк",
        ],
        phrases: &["детскую площадку", "нет ответа", "ответ на предыдущее обращение"],
    },
];

/// A word hit counts once per category; a phrase counts twice.
const PHRASE_WEIGHT: u32 = 2;

static LOWER_PHRASES: LazyLock<Vec<(Category, Vec<String>)>> = LazyLock::new(|| {
    DICTIONARIES
        .iter()
        .map(|d| (d.category, d.phrases.iter().map(|p| p.to_lowercase()).collect()))
        .collect()
});

/// Whether a word (with its stem) hits a keyword stem. Short keys ("ям", "рек", "шум") must
/// be the whole stem or a short word's start, so "реклама" is not a river and "лестница" not
/// a forest; longer keys match any word they begin.
fn hits(word: &str, stem: &str, key: &str) -> bool {
    let key_len = key.chars().count();
    if key_len <= 3 {
        stem == key || (word.starts_with(key) && word.chars().count() <= key_len + 2)
    } else {
        stem.starts_with(key) || word.starts_with(key)
    }
}

/// The category of `text`, or `OTHER` when no dictionary word occurs.
pub fn classify(text: &str) -> Category {
    let lower = text.to_lowercase().replace('ё', "е");
    let words: Vec<(&str, String)> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| (w, stem(w)))
        .collect();
    let mut best = (0u32, Category::Other);
    for (dict, (_, phrases)) in DICTIONARIES.iter().zip(LOWER_PHRASES.iter()) {
        let words = words
            .iter()
            .filter(|(word, stem)| dict.stems.iter().any(|key| hits(word, stem, key)))
            .count() as u32;
        let phrases = phrases.iter().filter(|p| lower.contains(p.as_str())).count() as u32;
        let score = words + PHRASE_WEIGHT * phrases;
        // Ties keep the earlier dictionary (the more common category).
        if score > best.0 {
            best = (score, dict.category);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inflected_forms_share_a_stem() {
        for w in ["больница", "больницы", "больницу", "больнице", "больницами"]
        {
            assert!(stem(w).starts_with("больниц"), "{w} -> {}", stem(w));
        }
        assert_eq!(stem("Ёлки"), "елк");
        assert_eq!(stem("ям"), "ям", "short words keep their letters");
    }

    #[test]
    fn classifies_by_inflected_keywords() {
        assert_eq!(classify("В больнице нет лекарств"), Category::Healthcare);
        assert_eq!(classify("Записаться в больницу невозможно"), Category::Healthcare);
        assert_eq!(classify("Автобусы не ходят по расписанию"), Category::Transport);
        assert_eq!(classify("Ямы на дорогах после зимы"), Category::Roads);
        assert_eq!(classify("Просто спасибо"), Category::Other);
    }

    /// The labelled set's accuracy; the figure goes to the notes and RESULTS.md.
    #[test]
    fn accuracy_on_the_labelled_set() {
        use sea_orm::ActiveEnum;
        let set = include_str!("../../tests/fixtures/classifier_labelled.tsv");
        let (mut right, mut total) = (0, 0);
        for line in set.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
            let (label, text) = line.split_once('\t').expect("category<TAB>text");
            let expected = Category::try_from_value(&label.to_owned()).expect("a known category");
            let got = classify(text);
            total += 1;
            if got == expected {
                right += 1;
            } else {
                eprintln!("miss: {label} classified as {got:?}: {text}");
            }
        }
        let accuracy = f64::from(right) / f64::from(total);
        eprintln!("classifier accuracy: {right}/{total} = {accuracy:.3}");
        assert!(total >= 90, "the labelled set has {total} texts");
        assert!(accuracy >= 0.85, "accuracy {accuracy:.3} below 0.85");
    }
}
