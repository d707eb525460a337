//! The directory: `Municipality`, `Department`, `Staff`.
use super::spec::{
    Cache::Shared,
    Field, Object,
    Serve::{Department, Municipality, Value as V},
    everyone, id, opt, string,
};
use async_graphql::Value;
use entity::{department, municipality, staff};

/// `Municipality`.
pub(crate) static MUNICIPALITY: Object<municipality::Model> = Object {
    name: "Municipality",
    fields: &[
        Field::new("id", everyone, Shared).serve(V(|m, _| id(m.id))),
        Field::new("name", everyone, Shared).serve(V(|m, _| string(&m.name))),
        Field::new("nameEn", everyone, Shared).serve(V(|m, _| string(&m.name_en))),
        Field::new("kind", everyone, Shared).serve(V(|m, _| string(&m.kind))),
        Field::new("population", everyone, Shared).serve(V(|m, _| opt(m.population.as_ref()))),
    ],
};

/// `Department`.
pub(crate) static DEPARTMENT: Object<department::Model> = Object {
    name: "Department",
    fields: &[
        Field::new("id", everyone, Shared).serve(V(|d, _| id(d.id))),
        Field::new("code", everyone, Shared).serve(V(|d, _| string(&d.code))),
        Field::new("name", everyone, Shared).serve(V(|d, _| string(&d.name))),
        Field::new("kind", everyone, Shared).serve(V(|d, _| string(&d.kind))),
        Field::new("parent", everyone, Shared).serve(Department(|d| d.parent_id)),
        Field::new("municipality", everyone, Shared).serve(Municipality(|d| d.municipality_id)),
    ],
};

/// `Staff`. Contacts are shown per row (a ministry sees its own department's): the
/// executor's, and shared only within the caller's scope, which the cache key holds.
pub(crate) static STAFF: Object<staff::Model> = Object {
    name: "Staff",
    fields: &[
        Field::new("id", everyone, Shared).serve(V(|s, _| id(s.id))),
        Field::new("fullName", everyone, Shared).serve(V(|s, _| string(&s.full_name))),
        Field::new("position", everyone, Shared).serve(V(|s, _| string(&s.position))),
        Field::new("phone", |p| p.staff_contacts, Shared),
        Field::new("email", |p| p.staff_contacts, Shared),
        Field::new("active", everyone, Shared).serve(V(|s, _| Value::Boolean(s.active))),
        Field::new("department", everyone, Shared).serve(Department(|s| Some(s.department_id))),
    ],
};
