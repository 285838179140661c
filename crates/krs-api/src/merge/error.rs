//! Strategic merge patch errors, with upstream's messages (k8s.io/apimachinery
//! pkg/util/mergepatch/errors.go and pkg/util/strategicpatch/patch.go).

use std::fmt;

/// Why a strategic merge patch could not be applied.
///
/// [`MergeError::http_status`] gives the status the API server answers with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MergeError {
    /// The original or the patch is not a JSON object (`mergepatch.ErrBadJSONDoc`).
    BadJsonDoc,
    /// A merging list holds lists (`mergepatch.ErrNoListOfLists`).
    NoListOfLists,
    /// A `$deleteFromPrimitiveList` key without `/<field>`.
    BadPatchFormatForPrimitiveList,
    /// A `$retainKeys` directive that is not a list, or a patch key missing from it.
    BadPatchFormatForRetainKeys,
    /// A malformed `$setElementOrder` key, or one whose list is not a list.
    BadPatchFormatForSetElementOrderList,
    /// A list element without the list's merge key; `map` is the element as Go prints it.
    NoMergeKey { map: String, merge_key: String },
    /// A value of the wrong JSON type where upstream asserts one (Go type names).
    BadArgType { expected: &'static str, actual: &'static str },
    /// A `$patch` directive other than `replace`/`delete` on a map (or other than
    /// `replace`/`delete`/`merge` in a list).
    BadPatchType { directive: String, map: String },
    /// `$patch: merge` on a list element.
    ListMergeDirective,
    /// A list of objects asked to merge without a merge key (e.g. `$deleteFromPrimitiveList`
    /// of a list of objects without one); `element` is the element's Go kind.
    NoMergeKeyForList { element: &'static str },
    /// The elements of the original and patch lists differ in Go type.
    ElementTypesNotIdentical { lists: String },
    /// `$setElementOrder` for a list that is empty in both the original and the patch.
    NoElements,
    /// The patch list's order contradicts its `$setElementOrder` list.
    SetElementOrderMismatch { patch: String, order: String },
    /// A list that should hold objects holds something else at `index`.
    NotAMap { index: usize },
    /// `$setElementOrder/<field>` names a field that is neither a list nor a pointer.
    NotASliceField,
    /// Input on which upstream's code panics (comparing or hashing maps and lists, a `null`
    /// first element in a merging list); the API server answers 500.
    Panic(GoPanic),
}

/// A Go runtime panic upstream's code hits on some malformed patches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GoPanic {
    /// `==` on two maps.
    UncomparableMap,
    /// `==` on two slices.
    UncomparableSlice,
    /// A map used as a Go map key.
    UnhashableMap,
    /// A slice used as a Go map key.
    UnhashableSlice,
    /// `reflect.TypeOf(nil).Kind()`: a merging list whose first element is `null`.
    NilElementType,
}

impl From<GoPanic> for MergeError {
    fn from(p: GoPanic) -> Self {
        MergeError::Panic(p)
    }
}

impl MergeError {
    /// The HTTP status of the API server's answer (its interpretStrategicMergePatchError):
    /// 400 for malformed documents and directives, 422 for lists of lists, 500 otherwise.
    pub fn http_status(&self) -> u16 {
        match self {
            MergeError::BadJsonDoc
            | MergeError::BadPatchFormatForPrimitiveList
            | MergeError::BadPatchFormatForRetainKeys
            | MergeError::BadPatchFormatForSetElementOrderList => 400,
            MergeError::NoListOfLists => 422,
            _ => 500,
        }
    }
}

impl fmt::Display for MergeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MergeError::BadJsonDoc => f.write_str("invalid JSON document"),
            MergeError::NoListOfLists => f.write_str("lists of lists are not supported"),
            MergeError::BadPatchFormatForPrimitiveList => f.write_str("invalid patch format of primitive list"),
            MergeError::BadPatchFormatForRetainKeys => f.write_str("invalid patch format of retainKeys"),
            MergeError::BadPatchFormatForSetElementOrderList => {
                f.write_str("invalid patch format of setElementOrder list")
            }
            MergeError::NoMergeKey { map, merge_key } => {
                write!(f, "map: {map} does not contain declared merge key: {merge_key}")
            }
            MergeError::BadArgType { expected, actual } => {
                write!(f, "expected a {expected}, but received a {actual}")
            }
            MergeError::BadPatchType { directive, map } => {
                write!(f, "unknown patch type: {directive} in map: {map}")
            }
            MergeError::ListMergeDirective => f.write_str("merging lists cannot yet be specified in the patch"),
            MergeError::NoMergeKeyForList { element } => {
                write!(f, "cannot merge lists without merge key for {element}")
            }
            MergeError::ElementTypesNotIdentical { lists } => {
                write!(f, "list element types are not identical: {lists}")
            }
            MergeError::NoElements => f.write_str("no elements in any of the given slices"),
            MergeError::SetElementOrderMismatch { patch, order } => {
                write!(f, "The order in patch list:\n{patch}\n doesn't match $setElementOrder list:\n{order}\n")
            }
            MergeError::NotAMap { index } => write!(f, "value for key {index} is not a map"),
            MergeError::NotASliceField => f.write_str("expected slice or array type, but got: struct"),
            MergeError::Panic(p) => p.fmt(f),
        }
    }
}

impl fmt::Display for GoPanic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GoPanic::UncomparableMap => "runtime error: comparing uncomparable type map[string]interface {}",
            GoPanic::UncomparableSlice => "runtime error: comparing uncomparable type []interface {}",
            GoPanic::UnhashableMap => "runtime error: hash of unhashable type map[string]interface {}",
            GoPanic::UnhashableSlice => "runtime error: hash of unhashable type []interface {}",
            GoPanic::NilElementType => "runtime error: invalid memory address or nil pointer dereference",
        })
    }
}

impl std::error::Error for MergeError {}
