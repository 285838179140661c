//! Create: upstream's `rest.BeforeCreate` and `Store.Create`.

use std::sync::Arc;

use bytes::Bytes;
use krs_api::ResourceInfo;
use krs_apimachinery::validation::{Path, validate_object_meta};
use krs_kinds::Object;
use krs_store::StoreError;
use rand::Rng;

use super::{WriteContext, encode_for_storage_with, key, now, reconcile_namespace};
use crate::errors::ApiError;
use crate::handler::App;
use crate::objbytes::with_resource_version;

/// How many names a generateName create tries before giving up (upstream retries too).
const GENERATE_NAME_ATTEMPTS: usize = 8;

/// Creates `obj` in `namespace` (ignored for cluster-scoped resources). Returns the stored
/// object's JSON with its resourceVersion (or, for a dry run, as it would have been stored).
pub async fn create(
    app: &App,
    res: &Arc<ResourceInfo>,
    ctx: &mut WriteContext,
    namespace: &str,
    mut obj: Box<dyn Object>,
) -> Result<Bytes, ApiError> {
    reconcile_namespace(res, obj.meta_mut(), namespace)?;
    if obj.meta().resource_version.as_deref().is_some_and(|rv| !rv.is_empty()) {
        return Err(ApiError::bad_request("resourceVersion should not be set on objects to be created"));
    }
    let strategy = res.strategy;
    strategy.default(obj.as_mut());
    crate::admission::mutate_create(app, res, namespace, obj.as_mut()).await?;

    // The system fields and the generated name exist before the strategy prepares the object
    // (upstream fills them in the create handler, before admission): a Job's selector is
    // derived from its uid.
    let generate_name = match obj.meta().name.as_deref() {
        Some(n) if !n.is_empty() => None,
        _ => obj.meta().generate_name.clone().filter(|g| !g.is_empty()),
    };
    {
        let meta = obj.meta_mut();
        if let Some(base) = &generate_name {
            meta.name = Some(generated_name(base));
        }
        meta.creation_timestamp = Some(now());
        // A version 4 UUID from the thread's generator (seeded from the OS), not a system
        // call per object.
        meta.uid = Some(uuid::Builder::from_random_bytes(rand::random()).into_uuid().to_string());
        // rest.BeforeCreate
        meta.deletion_timestamp = None;
        meta.deletion_grace_period_seconds = None;
        if res.generation {
            meta.generation = Some(1);
        }
    }
    if res.has_status() && strategy.reset_status_on_create() {
        obj.reset_status();
    }
    strategy.prepare_for_create(obj.as_mut());

    let mut errors =
        validate_object_meta(obj.meta(), res.namespaced, strategy.name_validator(), &Path::new("metadata"));
    errors.append(strategy.validate(obj.as_ref()));
    let name = obj.meta().name.clone().unwrap_or_default();
    if !errors.is_empty() {
        return Err(ApiError::invalid(res, &name, &errors));
    }
    ctx.warnings.extend(strategy.warnings_on_create(obj.as_ref()));
    strategy.canonicalize(obj.as_mut());
    // The managedFields of a create of a known shape come as JSON text, put in by the encoding.
    let managed = if ctx.applied { None } else { super::managed::track_create(res, ctx, obj.as_mut())? };
    // Validating admission: the object is final.
    crate::admission::validate(app, res, ctx, namespace, obj.as_mut(), None).await?;

    let hooks = app.hooks(res).cloned();
    let reserved = match &hooks {
        Some(h) => h.before_create(app, obj.as_mut(), ctx.dry_run).await?,
        None => Default::default(),
    };
    if ctx.dry_run {
        // A dry run answers what the write would: an existing name is a conflict.
        let name = obj.meta().name.clone().unwrap_or_default();
        let key = key(res, namespace, &name)?;
        if generate_name.is_none()
            && app.store.get(&key, None).await.map_err(|e| ApiError::from_store(e, res, &name))?.0.is_some()
        {
            if let Some(h) = &hooks {
                h.release(app, &reserved).await;
            }
            return Err(ApiError::already_exists(res, &name));
        }
        if let Some(text) = managed {
            obj.meta_mut().managed_fields = serde_json::from_str(&text).ok();
        }
        return Ok(Bytes::from(obj.to_json()));
    }
    let result = store_new(app, res, namespace, obj, generate_name.as_deref(), managed.as_deref()).await;
    if result.is_err()
        && let Some(h) = &hooks
    {
        h.release(app, &reserved).await;
    }
    result
}

/// Stores a new object, retrying generated names that collide.
async fn store_new(
    app: &App,
    res: &Arc<ResourceInfo>,
    namespace: &str,
    mut obj: Box<dyn Object>,
    generate_name: Option<&str>,
    managed: Option<&str>,
) -> Result<Bytes, ApiError> {
    let mut attempts = 0;
    loop {
        let name = obj.meta().name.clone().unwrap_or_default();
        let key = key(res, namespace, &name)?;
        let value = encode_for_storage_with(obj.as_mut(), managed);
        match app.store.create(&key, value.clone(), 0).await {
            Ok(rev) => return Ok(Bytes::from(with_resource_version(&value, rev))),
            Err(StoreError::AlreadyExists { .. })
                if generate_name.is_some() && attempts + 1 < GENERATE_NAME_ATTEMPTS =>
            {
                attempts += 1;
                obj.meta_mut().name = Some(generated_name(generate_name.unwrap_or_default()));
            }
            Err(e) => return Err(ApiError::from_store(e, res, &name)),
        }
    }
}

/// upstream's SimpleNameGenerator: the prefix (cut to leave room) plus five random characters
/// from an alphabet without vowels and confusable digits.
pub fn generated_name(base: &str) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    const MAX_NAME_LENGTH: usize = 63;
    const RANDOM_LENGTH: usize = 5;
    let max_base = MAX_NAME_LENGTH - RANDOM_LENGTH;
    let mut base = base.to_string();
    if base.len() > max_base {
        let mut cut = max_base;
        while !base.is_char_boundary(cut) {
            cut -= 1;
        }
        base.truncate(cut);
    }
    let mut rng = rand::rng();
    for _ in 0..RANDOM_LENGTH {
        base.push(ALPHABET[rng.random_range(0..ALPHABET.len())] as char);
    }
    base
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_keep_the_prefix_and_fit() {
        let n = generated_name("web-");
        assert!(n.starts_with("web-") && n.len() == 9, "{n}");
        let long = "x".repeat(100);
        assert_eq!(generated_name(&long).len(), 63);
    }
}
