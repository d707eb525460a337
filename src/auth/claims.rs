//! Where a token's claims name the caller's role, department and municipality: top-level
//! `role`/`department_id`/`municipality_id` by default, under a namespace object (as Hasura's
//! `claims_namespace`), or at configured dotted paths — e.g. a Keycloak realm's
//! `realm_access.roles` array, whose one role with the configured prefix (`cur-ministry`) is
//! the caller's role.
use super::{AuthError, Principal, Role, policy};
use crate::config::AuthConfig;
use serde_json::{Map, Value};

/// How claims map onto a principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimMap {
    namespace: Option<String>,
    role: Vec<String>,
    role_prefix: String,
    department: Vec<String>,
    municipality: Vec<String>,
}

fn path(dotted: &str) -> Vec<String> {
    dotted.split('.').filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// The value at `path` under `root`.
fn at<'a>(root: &'a Map<String, Value>, path: &[String]) -> Option<&'a Value> {
    let (last, parents) = path.split_last()?;
    let mut object = root;
    for key in parents {
        object = object.get(key)?.as_object()?;
    }
    object.get(last)
}

/// Sets the value at `path` under `root`, making the objects on the way.
fn set_at(root: &mut Map<String, Value>, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else { return };
    let mut object = root;
    for key in parents {
        let entry = object.entry(key.clone()).or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(inner) = entry else { return };
        object = inner;
    }
    object.insert(last.clone(), value);
}

/// An id claim: a JSON number or a string of digits (identity providers differ; Keycloak's
/// user attributes come as strings, or as one-element arrays of strings).
fn id_claim(value: Option<&Value>, name: &'static str) -> Result<Option<i32>, AuthError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .map(Some)
            .ok_or(AuthError::InvalidClaim(name)),
        Some(Value::String(s)) => s.parse().map(Some).map_err(|_| AuthError::InvalidClaim(name)),
        Some(Value::Array(items)) if items.len() == 1 => id_claim(items.first(), name),
        Some(_) => Err(AuthError::InvalidClaim(name)),
    }
}

impl ClaimMap {
    /// The mapping `config` asks for.
    pub fn of(config: &AuthConfig) -> Self {
        ClaimMap {
            namespace: config.jwt_claims_namespace.clone(),
            role: path(&config.jwt_role_claim),
            role_prefix: config.jwt_role_prefix.clone(),
            department: path(&config.jwt_department_claim),
            municipality: path(&config.jwt_municipality_claim),
        }
    }

    /// The object the role claims are read from.
    fn scope<'a>(
        &self,
        claims: &'a Map<String, Value>,
    ) -> Result<&'a Map<String, Value>, AuthError> {
        match &self.namespace {
            None => Ok(claims),
            Some(ns) => match claims.get(ns) {
                Some(Value::Object(inner)) => Ok(inner),
                Some(_) => Err(AuthError::InvalidClaim("namespace")),
                None => Err(AuthError::MissingClaim("namespace")),
            },
        }
    }

    /// The role a role claim names: a string, or the one entry of an array that names a role
    /// (with the prefix); none or several are refused.
    fn role(&self, value: Option<&Value>) -> Result<Role, AuthError> {
        let named = |text: &str| -> Option<Role> {
            text.strip_prefix(self.role_prefix.as_str()).and_then(Role::from_claim)
        };
        match value {
            Some(Value::String(r)) => named(r).ok_or_else(|| AuthError::UnknownRole(r.clone())),
            Some(Value::Array(items)) => {
                let mut roles: Vec<Role> =
                    items.iter().filter_map(Value::as_str).filter_map(named).collect();
                roles.dedup();
                match roles[..] {
                    [role] => Ok(role),
                    [] => Err(AuthError::MissingClaim("role")),
                    _ => Err(AuthError::AmbiguousRole),
                }
            }
            Some(_) => Err(AuthError::InvalidClaim("role")),
            None => Err(AuthError::MissingClaim("role")),
        }
    }

    /// The principal named by verified claims.
    pub fn principal(&self, claims: &Map<String, Value>) -> Result<Principal, AuthError> {
        let sub = match claims.get("sub") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(_) => return Err(AuthError::InvalidClaim("sub")),
            None => return Err(AuthError::MissingClaim("sub")),
        };
        let scope = self.scope(claims)?;
        let principal = Principal {
            sub,
            role: self.role(at(scope, &self.role))?,
            department_id: id_claim(at(scope, &self.department), "department_id")?,
            municipality_id: id_claim(at(scope, &self.municipality), "municipality_id")?,
        };
        policy::check_required_claims(&principal).map_err(AuthError::MissingClaim)?;
        Ok(principal)
    }

    /// Puts a principal's role claims into `claims`, where [`ClaimMap::principal`] reads them.
    pub fn write(
        &self,
        claims: &mut Map<String, Value>,
        role: Role,
        department: Option<i32>,
        municipality: Option<i32>,
    ) {
        let mut scope = Map::new();
        set_at(&mut scope, &self.role, format!("{}{}", self.role_prefix, role.as_str()).into());
        if let Some(d) = department {
            set_at(&mut scope, &self.department, d.into());
        }
        if let Some(m) = municipality {
            set_at(&mut scope, &self.municipality, m.into());
        }
        match &self.namespace {
            Some(ns) => {
                claims.insert(ns.clone(), Value::Object(scope));
            }
            None => claims.extend(scope),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keycloak() -> ClaimMap {
        ClaimMap {
            namespace: None,
            role: path("realm_access.roles"),
            role_prefix: "cur-".into(),
            department: path("cur.department_id"),
            municipality: path("cur.municipality_id"),
        }
    }

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_keycloak_realm_token_maps_onto_a_principal() {
        let token = claims(json!({ "sub": "f3a1", "realm_access": {
            "roles": ["offline_access", "uma_authorization", "cur-ministry"] },
            "cur": { "department_id": ["3"] } }));
        let p = keycloak().principal(&token).unwrap();
        assert_eq!((p.role, p.department_id, p.sub.as_str()), (Role::Ministry, Some(3), "f3a1"));
    }

    #[test]
    fn none_or_several_of_our_roles_are_refused() {
        let token =
            |roles: Value| claims(json!({ "sub": "x", "realm_access": { "roles": roles } }));
        assert_eq!(
            keycloak().principal(&token(json!(["offline_access"]))),
            Err(AuthError::MissingClaim("role"))
        );
        assert_eq!(
            keycloak().principal(&token(json!(["cur-operator", "cur-governor"]))),
            Err(AuthError::AmbiguousRole)
        );
        // Without the prefix a role name is not ours.
        assert_eq!(
            keycloak().principal(&token(json!(["operator"]))),
            Err(AuthError::MissingClaim("role"))
        );
        let ok = keycloak().principal(&token(json!(["cur-operator", "cur-operator"]))).unwrap();
        assert_eq!(ok.role, Role::Operator);
    }

    #[test]
    fn written_claims_read_back() {
        let map = keycloak();
        let mut c = claims(json!({ "sub": "m" }));
        map.write(&mut c, Role::Municipality, None, Some(4));
        let p = map.principal(&c).unwrap();
        assert_eq!((p.role, p.municipality_id), (Role::Municipality, Some(4)));
    }
}
