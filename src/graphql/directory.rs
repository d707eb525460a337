//! Municipalities, departments and staff: types and their root fields.
use super::{null_with_error, parse_id, request, snapshot};
use crate::Error;
use crate::auth::policy;
use crate::error::GqlResult;
use crate::store::directory::Snapshot;
use async_graphql::{Context, ID, Object, Result};
use entity::{department, municipality, staff};
use std::sync::Arc;

/// One of the 22 municipalities of Yugra.
pub struct Municipality(pub Arc<municipality::Model>);

#[Object]
impl Municipality {
    /// Identifier.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Name in Russian.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Name in English.
    async fn name_en(&self) -> &str {
        &self.0.name_en
    }
    /// `city_district` or `district`.
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    /// Population, where known.
    async fn population(&self) -> Option<i32> {
        self.0.population
    }
}

/// A regional department or a municipal administration.
pub struct Department(pub Arc<department::Model>);

#[Object]
impl Department {
    /// Identifier.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Stable short code.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// Official name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// `center`, `regional` or `municipal`.
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    /// The parent department, if any.
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Department>> {
        department_by_id(ctx, self.0.parent_id).await
    }
    /// The municipality of a municipal administration.
    async fn municipality(&self, ctx: &Context<'_>) -> Result<Option<Municipality>> {
        municipality_by_id(ctx, self.0.municipality_id).await
    }
}

/// A person working in a department.
pub struct Staff(pub Arc<staff::Model>);

#[Object]
impl Staff {
    /// Identifier.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Full name.
    async fn full_name(&self) -> &str {
        &self.0.full_name
    }
    /// Position.
    async fn position(&self) -> &str {
        &self.0.position
    }
    /// Work phone (a ministry sees its own department's only: FORBIDDEN otherwise).
    #[graphql(visible = "super::visibility::staff_contacts")]
    async fn phone(&self, ctx: &Context<'_>) -> Option<&str> {
        contact(ctx, &self.0, self.0.phone.as_deref())
    }
    /// Work e-mail (a ministry sees its own department's only: FORBIDDEN otherwise).
    #[graphql(visible = "super::visibility::staff_contacts")]
    async fn email(&self, ctx: &Context<'_>) -> Option<&str> {
        contact(ctx, &self.0, self.0.email.as_deref())
    }
    /// Still works there.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// The department.
    async fn department(&self, ctx: &Context<'_>) -> Result<Option<Department>> {
        department_by_id(ctx, Some(self.0.department_id)).await
    }
}

/// A staff contact if the caller may see it; otherwise null with FORBIDDEN at its path.
fn contact<'a>(ctx: &Context<'_>, staff: &staff::Model, value: Option<&'a str>) -> Option<&'a str> {
    match policy::check_staff_contacts(&request(ctx).principal, staff.department_id) {
        Ok(()) => value,
        Err(err) => null_with_error(ctx, &err),
    }
}

/// A department reference, resolved in `directory`.
pub(crate) fn department_in(directory: &Snapshot, id: Option<i32>) -> Option<Department> {
    directory.department(id?).cloned().map(Department)
}

/// A municipality reference, resolved in `directory`.
pub(crate) fn municipality_in(directory: &Snapshot, id: Option<i32>) -> Option<Municipality> {
    directory.municipality(id?).cloned().map(Municipality)
}

/// A staff reference, resolved in `directory`.
pub(crate) fn staff_in(directory: &Snapshot, id: Option<i64>) -> Option<Staff> {
    directory.staff(id?).cloned().map(Staff)
}

/// A department reference, from the request's directory snapshot.
pub(crate) async fn department_by_id(
    ctx: &Context<'_>,
    id: Option<i32>,
) -> Result<Option<Department>> {
    let directory = snapshot(ctx).await?;
    Ok(department_in(&directory, id))
}

/// A municipality reference, from the request's directory snapshot.
pub(crate) async fn municipality_by_id(
    ctx: &Context<'_>,
    id: Option<i32>,
) -> Result<Option<Municipality>> {
    let directory = snapshot(ctx).await?;
    Ok(municipality_in(&directory, id))
}

/// A staff reference, from the request's directory snapshot.
pub(crate) async fn staff_by_id(ctx: &Context<'_>, id: Option<i64>) -> Result<Option<Staff>> {
    let directory = snapshot(ctx).await?;
    Ok(staff_in(&directory, id))
}

/// Root fields of the directory.
#[derive(Default)]
pub struct DirectoryQuery;

#[Object]
impl DirectoryQuery {
    /// All municipalities.
    async fn municipalities(&self, ctx: &Context<'_>) -> Result<Vec<Municipality>> {
        Ok(snapshot(ctx).await?.municipalities.iter().cloned().map(Municipality).collect())
    }

    /// All departments.
    async fn departments(&self, ctx: &Context<'_>) -> Result<Vec<Department>> {
        Ok(snapshot(ctx).await?.departments.iter().cloned().map(Department).collect())
    }

    /// One department; NOT_FOUND if there is none with this id.
    async fn department(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Department>> {
        let id = parse_id::<i32>(&id, "id").gql()?;
        match department_by_id(ctx, Some(id)).await? {
            Some(d) => Ok(Some(d)),
            None => Err(Error::NotFound(format!("department {id}"))).gql(),
        }
    }

    /// One staff member; NOT_FOUND if there is none with this id.
    async fn staff(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Staff>> {
        let id = parse_id::<i64>(&id, "id").gql()?;
        match staff_by_id(ctx, Some(id)).await? {
            Some(s) => Ok(Some(s)),
            None => Err(Error::NotFound(format!("staff {id}"))).gql(),
        }
    }
}
