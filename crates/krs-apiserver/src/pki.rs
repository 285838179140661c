//! The cluster's PKI: a CA created on first start, the API server's serving certificate and the
//! admin client certificate (O=system:masters), kept in `<data-dir>/pki` so that a restart keeps
//! them, plus the admin kubeconfig that real kubectl uses as is.
//!
//! Keys are ECDSA P-256: generating them takes microseconds, which keeps the first start fast.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{what}: {source}")]
    Cert { what: &'static str, source: rcgen::Error },
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

/// PEM-encoded certificates and keys of the cluster.
#[derive(Clone)]
pub struct Pki {
    pub dir: PathBuf,
    pub ca_cert: String,
    pub ca_key: String,
    pub serving_cert: String,
    pub serving_key: String,
    pub admin_cert: String,
    pub admin_key: String,
    /// The service account token signing key (PKCS#8 PEM, ECDSA P-256).
    pub service_account_key: String,
}

/// Certificates are renewed at start-up when they expire within this many days.
const RENEW_BEFORE_DAYS: i64 = 30;
const CA_VALIDITY_DAYS: i64 = 3650;
const LEAF_VALIDITY_DAYS: i64 = 365;

impl Pki {
    /// Loads the PKI from `dir`, creating what is missing. The serving certificate is reissued
    /// when it lacks one of `sans` or nears expiry; the CA is never replaced once it exists
    /// (every client's kubeconfig trusts it).
    pub fn load_or_create(dir: &Path, sans: &[String]) -> Result<Pki, PkiError> {
        fs::create_dir_all(dir).map_err(|source| PkiError::Io { path: dir.into(), source })?;
        let ca_cert_path = dir.join("ca.crt");
        let ca_key_path = dir.join("ca.key");
        let (ca_cert, ca_key) = if ca_cert_path.exists() || ca_key_path.exists() {
            (read(&ca_cert_path)?, read(&ca_key_path)?)
        } else {
            let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
                .map_err(|source| PkiError::Cert { what: "CA key", source })?;
            let mut params =
                CertificateParams::new(Vec::<String>::new()).map_err(|source| PkiError::Cert { what: "CA", source })?;
            params.distinguished_name = dn("krs-ca", None);
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.key_usages =
                vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
            set_validity(&mut params, CA_VALIDITY_DAYS);
            let cert = params.self_signed(&key).map_err(|source| PkiError::Cert { what: "CA", source })?;
            let (c, k) = (cert.pem(), key.serialize_pem());
            write(&ca_cert_path, &c, false)?;
            write(&ca_key_path, &k, true)?;
            (c, k)
        };
        let ca_signing_key = KeyPair::from_pem(&ca_key)
            .map_err(|e| PkiError::Invalid { path: ca_key_path.clone(), reason: e.to_string() })?;
        let issuer = Issuer::from_ca_cert_pem(&ca_cert, ca_signing_key)
            .map_err(|e| PkiError::Invalid { path: ca_cert_path.clone(), reason: e.to_string() })?;

        let (serving_cert, serving_key) = leaf(
            dir,
            "apiserver",
            &issuer,
            |existing| existing.is_none_or(|info| !sans.iter().all(|s| info.sans.contains(s))),
            || {
                let mut params = CertificateParams::new(sans.to_vec())?;
                params.distinguished_name = dn("kube-apiserver", None);
                params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
                Ok(params)
            },
        )?;
        let (admin_cert, admin_key) = leaf(
            dir,
            "admin",
            &issuer,
            |existing| existing.is_none(),
            || {
                let mut params = CertificateParams::new(Vec::<String>::new())?;
                params.distinguished_name = dn("kubernetes-admin", Some("system:masters"));
                params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
                Ok(params)
            },
        )?;
        let sa_path = dir.join("sa.key");
        let service_account_key = if sa_path.exists() {
            read(&sa_path)?
        } else {
            let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
                .map_err(|source| PkiError::Cert { what: "service account key", source })?;
            let pem = key.serialize_pem();
            write(&sa_path, &pem, true)?;
            pem
        };
        Ok(Pki {
            dir: dir.into(),
            ca_cert,
            ca_key,
            serving_cert,
            serving_key,
            admin_cert,
            admin_key,
            service_account_key,
        })
    }

    /// Issues a client certificate for `user` in `groups`, signed by the cluster CA (used by
    /// in-cluster components and tests).
    pub fn issue_client_cert(&self, user: &str, groups: &[&str]) -> Result<(String, String), PkiError> {
        let ca_key = KeyPair::from_pem(&self.ca_key).map_err(|source| PkiError::Cert { what: "CA key", source })?;
        let issuer =
            Issuer::from_ca_cert_pem(&self.ca_cert, ca_key).map_err(|source| PkiError::Cert { what: "CA", source })?;
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
            .map_err(|source| PkiError::Cert { what: "client key", source })?;
        let mut params =
            CertificateParams::new(Vec::<String>::new()).map_err(|source| PkiError::Cert { what: "client", source })?;
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, user);
        for g in groups {
            name.push(DnType::OrganizationName, *g);
        }
        params.distinguished_name = name;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        set_validity(&mut params, LEAF_VALIDITY_DAYS);
        let cert = params.signed_by(&key, &issuer).map_err(|source| PkiError::Cert { what: "client", source })?;
        Ok((cert.pem(), key.serialize_pem()))
    }

    /// The service account signing key as PKCS#8 DER.
    pub fn service_account_key_der(&self) -> Result<Vec<u8>, PkiError> {
        use rustls_pki_types::pem::PemObject;
        let key = rustls_pki_types::PrivatePkcs8KeyDer::from_pem_slice(self.service_account_key.as_bytes())
            .map_err(|e| PkiError::Invalid { path: self.dir.join("sa.key"), reason: e.to_string() })?;
        Ok(key.secret_pkcs8_der().to_vec())
    }

    /// Issues a serving certificate (a node agent's) for `names` (DNS names or IPs), signed by
    /// the cluster CA, with `common_name` as subject (upstream: `system:node:<node>`).
    pub fn issue_serving_cert(&self, common_name: &str, names: &[String]) -> Result<(String, String), PkiError> {
        let ca_key = KeyPair::from_pem(&self.ca_key).map_err(|source| PkiError::Cert { what: "CA key", source })?;
        let issuer =
            Issuer::from_ca_cert_pem(&self.ca_cert, ca_key).map_err(|source| PkiError::Cert { what: "CA", source })?;
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
            .map_err(|source| PkiError::Cert { what: "serving key", source })?;
        let mut params =
            CertificateParams::new(names.to_vec()).map_err(|source| PkiError::Cert { what: "serving", source })?;
        params.distinguished_name = dn(common_name, Some("system:nodes"));
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        set_validity(&mut params, LEAF_VALIDITY_DAYS);
        let cert = params.signed_by(&key, &issuer).map_err(|source| PkiError::Cert { what: "serving", source })?;
        Ok((cert.pem(), key.serialize_pem()))
    }

    /// An admin kubeconfig for the API server at `server` (an https URL).
    pub fn admin_kubeconfig(&self, server: &str) -> String {
        kubeconfig(server, &self.ca_cert, "admin", &self.admin_cert, &self.admin_key)
    }
}

/// A kubeconfig with one cluster, user and context, the certificates embedded.
pub fn kubeconfig(server: &str, ca_pem: &str, user: &str, cert_pem: &str, key_pem: &str) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: krs\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\nusers:\n- name: {user}\n  user:\n    client-certificate-data: {cert}\n    client-key-data: {key}\ncontexts:\n- name: krs\n  context:\n    cluster: krs\n    user: {user}\n    namespace: default\ncurrent-context: krs\npreferences: {{}}\n",
        ca = b64(ca_pem),
        cert = b64(cert_pem),
        key = b64(key_pem),
    )
}

/// What we need to know of an existing leaf certificate to decide whether to keep it.
struct LeafInfo {
    sans: Vec<String>,
}

/// Loads `<name>.crt`/`<name>.key` from `dir`, or issues them when `reissue` says so (given
/// what exists, or `None`) or when the certificate expires soon.
fn leaf(
    dir: &Path,
    name: &str,
    issuer: &Issuer<'_, KeyPair>,
    reissue: impl FnOnce(Option<&LeafInfo>) -> bool,
    params: impl FnOnce() -> Result<CertificateParams, rcgen::Error>,
) -> Result<(String, String), PkiError> {
    let cert_path = dir.join(format!("{name}.crt"));
    let key_path = dir.join(format!("{name}.key"));
    let existing = if cert_path.exists() && key_path.exists() {
        let cert = read(&cert_path)?;
        let key = read(&key_path)?;
        let info = inspect(&cert_path, &cert)?;
        Some((cert, key, info))
    } else {
        None
    };
    if let Some((cert, key, info)) = &existing {
        let fresh = info.1 > jiff::Timestamp::now().as_second() + RENEW_BEFORE_DAYS * 86400;
        if fresh && !reissue(Some(&info.0)) {
            return Ok((cert.clone(), key.clone()));
        }
    } else {
        // Nothing to keep: `reissue` only decides between keeping and replacing.
        let _ = reissue(None);
    }
    let key =
        KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(|source| PkiError::Cert { what: "key", source })?;
    let mut p = params().map_err(|source| PkiError::Cert { what: "certificate parameters", source })?;
    set_validity(&mut p, LEAF_VALIDITY_DAYS);
    let cert = p.signed_by(&key, issuer).map_err(|source| PkiError::Cert { what: "certificate", source })?;
    let (c, k) = (cert.pem(), key.serialize_pem());
    write(&cert_path, &c, false)?;
    write(&key_path, &k, true)?;
    Ok((c, k))
}

/// The SANs (DNS names and IPs, as strings) and the expiry (unix seconds) of a PEM certificate.
fn inspect(path: &Path, pem: &str) -> Result<(LeafInfo, i64), PkiError> {
    use rustls_pki_types::pem::PemObject;
    let invalid = |reason: String| PkiError::Invalid { path: path.into(), reason };
    let der = rustls_pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|e| invalid(e.to_string()))?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der).map_err(|e| invalid(e.to_string()))?;
    let mut sans = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for n in &ext.value.general_names {
            match n {
                x509_parser::extensions::GeneralName::DNSName(d) => sans.push(d.to_string()),
                x509_parser::extensions::GeneralName::IPAddress(ip) => match ip.len() {
                    4 => sans.push(std::net::Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]).to_string()),
                    16 => {
                        let mut b = [0u8; 16];
                        b.copy_from_slice(ip);
                        sans.push(std::net::Ipv6Addr::from(b).to_string())
                    }
                    _ => {}
                },
                _ => {}
            }
        }
    }
    Ok((LeafInfo { sans }, cert.validity().not_after.timestamp()))
}

fn dn(common_name: &str, organization: Option<&str>) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    if let Some(o) = organization {
        name.push(DnType::OrganizationName, o);
    }
    name
}

fn set_validity(params: &mut CertificateParams, days: i64) {
    let now = jiff::Timestamp::now();
    let to_date = |ts: jiff::Timestamp| {
        let d = ts.to_zoned(jiff::tz::TimeZone::UTC).date();
        rcgen::date_time_ymd(i32::from(d.year()), d.month() as u8, d.day() as u8)
    };
    // Back-date a day so that clients with a slightly slow clock accept a fresh certificate.
    params.not_before = to_date(now - jiff::SignedDuration::from_hours(24));
    params.not_after = to_date(now + jiff::SignedDuration::from_hours(24 * days));
}

fn read(path: &Path) -> Result<String, PkiError> {
    fs::read_to_string(path).map_err(|source| PkiError::Io { path: path.into(), source })
}

fn write(path: &Path, content: &str, private: bool) -> Result<(), PkiError> {
    use std::os::unix::fs::OpenOptionsExt;
    let io = |source| PkiError::Io { path: path.into(), source };
    let tmp = path.with_extension("tmp");
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(if private { 0o600 } else { 0o644 })
        .open(&tmp)
        .map_err(io)?;
    f.write_all(content.as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)?;
    fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pki_is_created_once_and_kept_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let sans = vec!["127.0.0.1".to_string(), "localhost".to_string()];
        let a = Pki::load_or_create(dir.path(), &sans).unwrap();
        let b = Pki::load_or_create(dir.path(), &sans).unwrap();
        assert_eq!(a.ca_cert, b.ca_cert);
        assert_eq!(a.serving_cert, b.serving_cert);
        assert_eq!(a.admin_cert, b.admin_cert);
        let (info, _) = inspect(Path::new("x"), &a.serving_cert).unwrap();
        assert!(info.sans.contains(&"127.0.0.1".to_string()) && info.sans.contains(&"localhost".to_string()));
    }

    #[test]
    fn a_new_san_reissues_the_serving_certificate_but_keeps_the_ca() {
        let dir = tempfile::tempdir().unwrap();
        let a = Pki::load_or_create(dir.path(), &["127.0.0.1".to_string()]).unwrap();
        let b = Pki::load_or_create(dir.path(), &["127.0.0.1".to_string(), "krs.example".to_string()]).unwrap();
        assert_eq!(a.ca_cert, b.ca_cert);
        assert_ne!(a.serving_cert, b.serving_cert);
        let (info, _) = inspect(Path::new("x"), &b.serving_cert).unwrap();
        assert!(info.sans.contains(&"krs.example".to_string()));
    }

    #[test]
    fn the_admin_certificate_is_in_system_masters() {
        use rustls_pki_types::pem::PemObject;
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::load_or_create(dir.path(), &["127.0.0.1".to_string()]).unwrap();
        let der = rustls_pki_types::CertificateDer::from_pem_slice(pki.admin_cert.as_bytes()).unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
        let orgs: Vec<_> = cert.subject().iter_organization().map(|o| o.as_str().unwrap().to_string()).collect();
        assert_eq!(orgs, vec!["system:masters"]);
        let kubeconfig = pki.admin_kubeconfig("https://127.0.0.1:6443");
        assert!(kubeconfig.contains("server: https://127.0.0.1:6443"));
    }
}
