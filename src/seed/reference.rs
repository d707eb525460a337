//! The region's reference data: the 22 municipalities, real department names, staff, SLA
//! policies. Inserted once; later seeds reuse what is there.
use super::rng::{Rng, chance, pick};
use crate::domain::sla;
use chrono::{DateTime, NaiveDate, Utc};
use entity::{Category, department, holiday, municipality, routing_rule, sla_policy, staff};

const MUNICIPALITIES_CSV: &str = include_str!("municipalities.csv");

/// Нефтеюганский район has no published population in our source; 45,000 is a fair stand-in.
const UNKNOWN_POPULATION: i32 = 45_000;

/// Genitive forms for "Администрация города …" / "… района", in the CSV's order.
const ADMINISTRATIONS: &[&str] = &[
    "Администрация города Сургута",
    "Администрация города Нижневартовска",
    "Администрация города Нефтеюганска",
    "Администрация города Ханты-Мансийска",
    "Администрация города Когалыма",
    "Администрация города Мегиона",
    "Администрация города Нягани",
    "Администрация города Радужный",
    "Администрация города Урай",
    "Администрация города Лангепаса",
    "Администрация города Пыть-Яха",
    "Администрация города Югорска",
    "Администрация города Покачи",
    "Администрация Сургутского района",
    "Администрация Советского района",
    "Администрация Нижневартовского района",
    "Администрация Кондинского района",
    "Администрация Октябрьского района",
    "Администрация Белоярского района",
    "Администрация Березовского района",
    "Администрация Ханты-Мансийского района",
    "Администрация Нефтеюганского района",
];

/// (code, name) of the center and the regional executive bodies (shared/domain/README.md).
pub const REGIONAL: &[(&str, &str)] = &[
    ("cur", "Центр управления регионом Югры"),
    ("health", "Департамент здравоохранения"),
    ("social", "Департамент социального развития"),
    ("housing", "Департамент жилищно-коммунального комплекса и энергетики"),
    ("construction", "Департамент строительства и архитектуры"),
    ("roads", "Департамент дорожного хозяйства и транспорта"),
    ("education", "Департамент образования и науки"),
    ("culture", "Департамент культуры"),
    ("sport", "Департамент физической культуры и спорта"),
    ("economy", "Департамент экономического развития"),
    ("industry", "Департамент промышленности"),
    ("property", "Департамент по управлению государственным имуществом"),
    ("digital", "Департамент информационных технологий и цифрового развития"),
    ("public-relations", "Департамент общественных, внешних связей и молодежной политики"),
    ("internal-policy", "Департамент внутренней политики"),
    ("nature", "Департамент недропользования и природных ресурсов"),
    ("veterinary", "Ветеринарная служба"),
    ("housing-supervision", "Служба жилищного и строительного надзора"),
];

/// The municipalities, with ids 1..=22 in the CSV's order.
pub fn municipalities() -> Vec<municipality::Model> {
    MUNICIPALITIES_CSV
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, line)| {
            let cols: Vec<&str> = line.split(',').collect();
            municipality::Model {
                id: i as i32 + 1,
                name: cols[0].to_owned(),
                name_en: cols[1].to_owned(),
                kind: cols[2].to_owned(),
                population: Some(cols[3].parse().unwrap_or(UNKNOWN_POPULATION)),
            }
        })
        .collect()
}

/// Regional departments (ids from 1) then one administration per municipality.
pub fn departments(munis: &[municipality::Model]) -> Vec<department::Model> {
    let mut out: Vec<department::Model> = REGIONAL
        .iter()
        .enumerate()
        .map(|(i, (code, name))| department::Model {
            id: i as i32 + 1,
            code: (*code).to_owned(),
            name: (*name).to_owned(),
            kind: if *code == "cur" { "center" } else { "regional" }.to_owned(),
            parent_id: None,
            municipality_id: None,
        })
        .collect();
    for (m, name) in munis.iter().zip(ADMINISTRATIONS) {
        out.push(department::Model {
            id: out.len() as i32 + 1,
            code: format!("admin-{}", m.name_en.to_lowercase()),
            name: (*name).to_owned(),
            kind: "municipal".to_owned(),
            parent_id: None,
            municipality_id: Some(m.id),
        });
    }
    out
}

const MALE: &[&str] = &[
    "Александр",
    "Сергей",
    "Дмитрий",
    "Андрей",
    "Алексей",
    "Михаил",
    "Иван",
    "Евгений",
    "Николай",
    "Владимир",
    "Павел",
    "Артём",
    "Олег",
    "Роман",
    "Виктор",
];
const FEMALE: &[&str] = &[
    "Елена",
    "Ольга",
    "Наталья",
    "Татьяна",
    "Ирина",
    "Светлана",
    "Анна",
    "Мария",
    "Юлия",
    "Екатерина",
    "Марина",
    "Людмила",
    "Оксана",
    "Галина",
    "Дарья",
];
const SURNAMES: &[&str] = &[
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Петров",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Морозов",
    "Волков",
    "Алексеев",
    "Лебедев",
    "Семёнов",
    "Егоров",
    "Павлов",
    "Козлов",
    "Степанов",
    "Николаев",
    "Орлов",
    "Андреев",
    "Макаров",
    "Никитин",
    "Захаров",
    "Зайцев",
    "Соловьёв",
    "Борисов",
    "Яковлев",
    "Григорьев",
];
const PATRONYMIC_ROOTS: &[&str] = &[
    "Александров",
    "Сергеев",
    "Дмитриев",
    "Андреев",
    "Алексеев",
    "Михайлов",
    "Иванов",
    "Николаев",
    "Владимиров",
    "Павлов",
    "Викторов",
    "Олегов",
];
const POSITIONS: &[&str] = &[
    "главный специалист",
    "ведущий специалист",
    "специалист-эксперт",
    "консультант",
    "начальник отдела",
    "заместитель начальника отдела",
];

/// A Russian full name: surname, first name, patronymic.
pub fn person_name(rng: &mut Rng) -> String {
    let surname = pick(rng, SURNAMES);
    let root = pick(rng, PATRONYMIC_ROOTS);
    if chance(rng, 0.5) {
        format!("{surname} {} {root}ич", pick(rng, MALE))
    } else {
        format!("{surname}а {} {root}на", pick(rng, FEMALE))
    }
}

/// `total` staff spread over departments: regional bodies get a fixed share, municipal
/// administrations one proportional to population.
pub fn staff(
    rng: &mut Rng,
    depts: &[department::Model],
    munis: &[municipality::Model],
    total: u32,
    first_id: i64,
) -> Vec<staff::Model> {
    let population = |d: &department::Model| -> f64 {
        d.municipality_id
            .and_then(|m| munis.iter().find(|x| x.id == m))
            .and_then(|m| m.population)
            .map_or(0.0, f64::from)
    };
    let regional = depts.iter().filter(|d| d.kind != "municipal").count() as f64;
    let regional_share = 0.45 * f64::from(total) / regional;
    let total_pop: f64 = depts.iter().map(population).sum();
    let mut out = Vec::with_capacity(total as usize);
    for d in depts {
        let n = if d.kind == "municipal" {
            0.55 * f64::from(total) * population(d) / total_pop
        } else {
            regional_share
        };
        for _ in 0..(n.round() as u32).max(2) {
            let id = first_id + out.len() as i64;
            out.push(staff::Model {
                id,
                department_id: d.id,
                full_name: person_name(rng),
                position: pick(rng, POSITIONS).to_string(),
                phone: Some(format!("+7 3467 {:02}-{:02}-{:02}", id % 97, id % 89, id % 83)),
                email: Some(format!("staff{id}@admhmao.ru")),
                active: !chance(rng, 0.03),
            });
        }
    }
    out
}

/// The default SLA policies as rows.
pub fn sla_policies() -> Vec<sla_policy::Model> {
    sla::default_policies()
        .into_iter()
        .enumerate()
        .map(|(i, p)| sla_policy::Model {
            id: i as i32 + 1,
            name: p.name,
            source: p.source,
            category: None,
            priority: p.priority,
            first_response_amount: p.first_response.amount,
            first_response_unit: p.first_response.unit.as_str().to_owned(),
            resolution_amount: p.resolution.amount,
            resolution_unit: p.resolution.unit.as_str().to_owned(),
        })
        .collect()
}

/// The regional body answering a category region-wide (`code` of [`REGIONAL`]).
pub fn regional_code(category: Category) -> &'static str {
    match category {
        Category::Healthcare => "health",
        Category::SocialProtection => "social",
        Category::Education => "education",
        Category::Ecology => "nature",
        Category::HousingUtilities => "housing",
        Category::Roads | Category::Transport => "roads",
        Category::Safety => "internal-policy",
        Category::Other => "public-relations",
    }
}

/// Categories a municipal administration handles on its own territory (local roads, yards,
/// snow, waste, local transport — shared/domain/README.md).
const LOCAL: &[Category] = &[
    Category::HousingUtilities,
    Category::Roads,
    Category::Transport,
    Category::Safety,
    Category::Other,
];

/// The default routing: each category to its regional body, and the local categories of each
/// municipality to its administration. Operators edit these rows.
pub fn routing_rules(depts: &[department::Model], at: DateTime<Utc>) -> Vec<routing_rule::Model> {
    use sea_orm::Iterable;
    let by_code = |code: &str| depts.iter().find(|d| d.code == code).map(|d| d.id);
    let mut rules = Vec::new();
    for category in Category::iter() {
        if let Some(department_id) = by_code(regional_code(category)) {
            rules.push((category, None, department_id));
        }
    }
    for admin in depts.iter().filter(|d| d.kind == "municipal") {
        for category in LOCAL {
            rules.push((*category, admin.municipality_id, admin.id));
        }
    }
    rules
        .into_iter()
        .enumerate()
        .map(|(i, (category, municipality_id, department_id))| routing_rule::Model {
            id: i as i32 + 1,
            category,
            municipality_id,
            department_id,
            updated_at: at,
        })
        .collect()
}

/// Non-working days of 2026 and 2027 by the Russian production calendar (public holidays and
/// the days off moved onto weekdays; 2027 transfers are not decreed yet, so only the fixed
/// holidays are listed). Data, not code: operators can add days in the `holiday` table.
pub fn holidays() -> Vec<holiday::Model> {
    const DAYS: &[(i32, u32, u32, &str)] = &[
        (2026, 1, 1, "Новогодние каникулы"),
        (2026, 1, 2, "Новогодние каникулы"),
        (2026, 1, 5, "Новогодние каникулы"),
        (2026, 1, 6, "Новогодние каникулы"),
        (2026, 1, 7, "Рождество Христово"),
        (2026, 1, 8, "Новогодние каникулы"),
        (2026, 1, 9, "Перенос выходного дня"),
        (2026, 2, 23, "День защитника Отечества"),
        (2026, 3, 9, "Перенос с 8 марта"),
        (2026, 5, 1, "Праздник Весны и Труда"),
        (2026, 5, 11, "Перенос с 9 мая"),
        (2026, 6, 12, "День России"),
        (2026, 11, 4, "День народного единства"),
        (2026, 12, 31, "Перенос выходного дня"),
        (2027, 1, 1, "Новогодние каникулы"),
        (2027, 1, 4, "Новогодние каникулы"),
        (2027, 1, 5, "Новогодние каникулы"),
        (2027, 1, 6, "Новогодние каникулы"),
        (2027, 1, 7, "Рождество Христово"),
        (2027, 1, 8, "Новогодние каникулы"),
        (2027, 2, 23, "День защитника Отечества"),
        (2027, 3, 8, "Международный женский день"),
        (2027, 5, 3, "Перенос с 1 мая"),
        (2027, 5, 10, "Перенос с 9 мая"),
        (2027, 6, 14, "Перенос с 12 июня"),
        (2027, 11, 4, "День народного единства"),
    ];
    DAYS.iter()
        .filter_map(|&(y, m, d, name)| {
            Some(holiday::Model { day: NaiveDate::from_ymd_opt(y, m, d)?, name: name.to_owned() })
        })
        .collect()
}
