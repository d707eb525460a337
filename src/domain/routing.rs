//! Routing "по подведомственности": the department responsible for a category in a
//! municipality, from the operator-edited rules. A municipality's own rule beats the
//! region-wide one.
use entity::Category;

/// One rule: complaints of `category` in `municipality` (None: anywhere) go to `department`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Category it applies to.
    pub category: Category,
    /// Municipality it applies to; `None` for the whole region.
    pub municipality: Option<i32>,
    /// The responsible department.
    pub department: i32,
}

/// The department for `category` in `municipality`, if any rule covers it.
pub fn route(rules: &[Rule], category: Category, municipality: i32) -> Option<i32> {
    let mut region_wide = None;
    for rule in rules.iter().filter(|r| r.category == category) {
        match rule.municipality {
            Some(m) if m == municipality => return Some(rule.department),
            None => region_wide = Some(rule.department),
            Some(_) => {}
        }
    }
    region_wide
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_municipal_rule_beats_the_region_wide_one() {
        let rules = [
            Rule { category: Category::Roads, municipality: None, department: 6 },
            Rule { category: Category::Roads, municipality: Some(1), department: 19 },
        ];
        assert_eq!(route(&rules, Category::Roads, 1), Some(19));
        assert_eq!(route(&rules, Category::Roads, 2), Some(6));
        assert_eq!(route(&rules, Category::Healthcare, 1), None);
    }
}
