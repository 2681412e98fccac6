//! [`Guard`]: which addresses Sightline may connect to.
//!
//! Evidence URLs come from hostile places. Without a guard, a link (or a
//! redirect, or a DNS answer) pointing at `127.0.0.1`, a private network or
//! a cloud metadata service would make the collector fetch from inside the
//! operator's own network. The guard refuses every address that is not
//! ordinary public unicast, unless the operator allow-listed a range that
//! contains the address exactly as it will be connected to.
//!
//! Addresses that embed an IPv4 address in IPv6 (mapped, compatible,
//! translated, NAT64, 6to4, Teredo) are refused outright rather than judged
//! by the embedded address: the network path they take is not the one the
//! embedded address suggests.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

use crate::http::FetchError;

/// Why an address was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub addr: IpAddr,
    /// What kind of address it is: "loopback", "private", "cloud metadata", ...
    pub reason: &'static str,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is a {} address", self.addr, self.reason)
    }
}

impl std::error::Error for Refusal {}

/// A bad allow-list entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    #[error("bad allow-list range {0:?}: not an ip address")]
    Address(String),
    #[error("bad allow-list range {0:?}: prefix length must be a number up to {1}")]
    Prefix(String, u8),
}

/// An address range: `addr` with all but the first `prefix` bits zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    addr: IpAddr,
    prefix: u8,
}

impl Range {
    fn parse(text: &str) -> Result<Range, GuardError> {
        let trimmed = text.trim();
        let (addr_text, prefix_text) = match trimmed.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (trimmed, None),
        };
        let addr: IpAddr = addr_text
            .parse()
            .map_err(|_| GuardError::Address(text.to_owned()))?;
        let width = match addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        let prefix = match prefix_text {
            None => width,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= width)
                .ok_or_else(|| GuardError::Prefix(text.to_owned(), width))?,
        };
        // Host bits are dropped: "10.1.2.3/8" means 10.0.0.0/8.
        let addr = match addr {
            IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from_bits(a.to_bits() & mask32(prefix))),
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from_bits(a.to_bits() & mask128(prefix))),
        };
        Ok(Range { addr, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(a)) => in_v4(a, net, self.prefix),
            (IpAddr::V6(net), IpAddr::V6(a)) => in_v6(a, net, self.prefix),
            _ => false,
        }
    }
}

fn mask32(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask128(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

fn in_v4(a: Ipv4Addr, net: Ipv4Addr, prefix: u8) -> bool {
    let m = mask32(prefix);
    a.to_bits() & m == net.to_bits() & m
}

fn in_v6(a: Ipv6Addr, net: Ipv6Addr, prefix: u8) -> bool {
    let m = mask128(prefix);
    a.to_bits() & m == net.to_bits() & m
}

/// IPv4 ranges never fetched from, first match wins (so specific entries
/// come before the ranges containing them).
const V4_REFUSED: &[(Ipv4Addr, u8, &str)] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 32, "unspecified"),
    (Ipv4Addr::new(0, 0, 0, 0), 8, "this-network"),
    (Ipv4Addr::new(10, 0, 0, 0), 8, "private"),
    // Alibaba Cloud's metadata service sits inside the CGNAT range.
    (Ipv4Addr::new(100, 100, 100, 200), 32, "cloud metadata"),
    (Ipv4Addr::new(100, 64, 0, 0), 10, "cgnat"),
    (Ipv4Addr::new(127, 0, 0, 0), 8, "loopback"),
    (Ipv4Addr::new(169, 254, 169, 254), 32, "cloud metadata"),
    // AWS ECS task metadata.
    (Ipv4Addr::new(169, 254, 170, 2), 32, "cloud metadata"),
    (Ipv4Addr::new(169, 254, 0, 0), 16, "link-local"),
    (Ipv4Addr::new(172, 16, 0, 0), 12, "private"),
    (Ipv4Addr::new(192, 0, 0, 0), 24, "reserved"),
    (Ipv4Addr::new(192, 0, 2, 0), 24, "documentation"),
    (Ipv4Addr::new(192, 88, 99, 0), 24, "6to4"),
    (Ipv4Addr::new(192, 168, 0, 0), 16, "private"),
    (Ipv4Addr::new(198, 18, 0, 0), 15, "benchmarking"),
    (Ipv4Addr::new(198, 51, 100, 0), 24, "documentation"),
    (Ipv4Addr::new(203, 0, 113, 0), 24, "documentation"),
    (Ipv4Addr::new(224, 0, 0, 0), 4, "multicast"),
    (Ipv4Addr::new(255, 255, 255, 255), 32, "broadcast"),
    (Ipv4Addr::new(240, 0, 0, 0), 4, "reserved"),
];

const fn v6(segments: [u16; 8]) -> Ipv6Addr {
    Ipv6Addr::new(
        segments[0],
        segments[1],
        segments[2],
        segments[3],
        segments[4],
        segments[5],
        segments[6],
        segments[7],
    )
}

/// IPv6 ranges never fetched from, first match wins. Anything left outside
/// global unicast (2000::/3) is refused after these as "reserved".
const V6_REFUSED: &[(Ipv6Addr, u8, &str)] = &[
    (v6([0, 0, 0, 0, 0, 0, 0, 0]), 128, "unspecified"),
    (v6([0, 0, 0, 0, 0, 0, 0, 1]), 128, "loopback"),
    (v6([0, 0, 0, 0, 0, 0xffff, 0, 0]), 96, "ipv4-mapped"),
    (v6([0, 0, 0, 0, 0xffff, 0, 0, 0]), 96, "ipv4-translated"),
    (v6([0, 0, 0, 0, 0, 0, 0, 0]), 96, "ipv4-compatible"),
    (v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0]), 96, "nat64"),
    (v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0]), 48, "nat64"),
    (v6([0x100, 0, 0, 0, 0, 0, 0, 0]), 64, "discard"),
    (v6([0x2001, 0, 0, 0, 0, 0, 0, 0]), 32, "teredo"),
    (v6([0x2001, 2, 0, 0, 0, 0, 0, 0]), 48, "benchmarking"),
    (v6([0x2001, 0, 0, 0, 0, 0, 0, 0]), 23, "reserved"),
    (v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0]), 32, "documentation"),
    (v6([0x2002, 0, 0, 0, 0, 0, 0, 0]), 16, "6to4"),
    (v6([0x3fff, 0, 0, 0, 0, 0, 0, 0]), 20, "documentation"),
    (
        v6([0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254]),
        128,
        "cloud metadata",
    ),
    (v6([0xfc00, 0, 0, 0, 0, 0, 0, 0]), 7, "unique-local"),
    (v6([0xfe80, 0, 0, 0, 0, 0, 0, 0]), 10, "link-local"),
    (v6([0xfec0, 0, 0, 0, 0, 0, 0, 0]), 10, "site-local"),
    (v6([0xff00, 0, 0, 0, 0, 0, 0, 0]), 8, "multicast"),
];

const V6_GLOBAL_UNICAST: (Ipv6Addr, u8) = (v6([0x2000, 0, 0, 0, 0, 0, 0, 0]), 3);

/// The SSRF guard: refuses non-public addresses unless allow-listed.
/// The default allow-lists nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Guard {
    allow: Vec<Range>,
}

impl Guard {
    /// A guard that also allows the given ranges (`10.0.0.0/8`, `::1/128`,
    /// or a bare address for just that address).
    pub fn new(allow: &[&str]) -> Result<Guard, GuardError> {
        let allow = allow
            .iter()
            .map(|text| Range::parse(text))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Guard { allow })
    }

    /// Whether any range is allow-listed.
    pub fn allows_any(&self) -> bool {
        !self.allow.is_empty()
    }

    /// May Sightline connect to `ip`?
    pub fn check(&self, ip: IpAddr) -> Result<(), Refusal> {
        if self.allow.iter().any(|range| range.contains(ip)) {
            return Ok(());
        }
        match classify(ip) {
            Some(reason) => Err(Refusal { addr: ip, reason }),
            None => Ok(()),
        }
    }

    /// Check what can be checked of a URL before resolving it: the scheme
    /// must be http or https, there must be a host, and a host that is an IP
    /// literal (in any notation the URL standard accepts) must pass
    /// [`Guard::check`]. Host names are checked after resolution.
    pub fn check_url(&self, url: &Url) -> Result<(), FetchError> {
        match url.scheme() {
            "http" | "https" => {}
            other => return Err(FetchError::Scheme(other.to_owned())),
        }
        let ip = match url.host() {
            None => return Err(FetchError::BadUrl(format!("{url} has no host"))),
            Some(Host::Domain(_)) => return Ok(()),
            Some(Host::Ipv4(a)) => IpAddr::V4(a),
            Some(Host::Ipv6(a)) => IpAddr::V6(a),
        };
        self.check(ip).map_err(|refusal| FetchError::Refused {
            host: url.host_str().unwrap_or_default().to_owned(),
            addr: refusal.addr,
            reason: refusal.reason,
        })
    }
}

/// The kind of a non-public address, or `None` for public unicast.
fn classify(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(a) => V4_REFUSED
            .iter()
            .find(|(net, prefix, _)| in_v4(a, *net, *prefix))
            .map(|(_, _, reason)| *reason),
        IpAddr::V6(a) => V6_REFUSED
            .iter()
            .find(|(net, prefix, _)| in_v6(a, *net, *prefix))
            .map(|(_, _, reason)| *reason)
            .or_else(|| {
                let (net, prefix) = V6_GLOBAL_UNICAST;
                (!in_v6(a, net, prefix)).then_some("reserved")
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(guard: &Guard, ip: &str) -> Option<&'static str> {
        let ip: IpAddr = ip.parse().expect("test address");
        guard.check(ip).err().map(|r| {
            assert_eq!(r.addr, ip);
            r.reason
        })
    }

    #[test]
    fn refuses_every_special_range_with_its_reason() {
        let g = Guard::default();
        let cases: &[(&str, &str)] = &[
            ("0.0.0.0", "unspecified"),
            ("0.1.2.3", "this-network"),
            ("0.255.255.255", "this-network"),
            ("10.0.0.0", "private"),
            ("10.255.255.255", "private"),
            ("100.64.0.1", "cgnat"),
            ("100.127.255.254", "cgnat"),
            ("100.100.100.200", "cloud metadata"),
            ("127.0.0.1", "loopback"),
            ("127.255.255.254", "loopback"),
            ("169.254.169.254", "cloud metadata"),
            ("169.254.170.2", "cloud metadata"),
            ("169.254.0.1", "link-local"),
            ("169.254.255.255", "link-local"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.0.0.8", "reserved"),
            ("192.0.2.1", "documentation"),
            ("192.88.99.1", "6to4"),
            ("192.168.0.1", "private"),
            ("192.168.255.255", "private"),
            ("198.18.0.1", "benchmarking"),
            ("198.19.255.255", "benchmarking"),
            ("198.51.100.7", "documentation"),
            ("203.0.113.9", "documentation"),
            ("224.0.0.1", "multicast"),
            ("239.255.255.250", "multicast"),
            ("240.0.0.1", "reserved"),
            ("254.1.2.3", "reserved"),
            ("255.255.255.255", "broadcast"),
            ("::", "unspecified"),
            ("::1", "loopback"),
            ("::ffff:127.0.0.1", "ipv4-mapped"),
            ("::ffff:8.8.8.8", "ipv4-mapped"),
            ("::ffff:0:8.8.8.8", "ipv4-translated"),
            ("::127.0.0.1", "ipv4-compatible"),
            ("::8.8.8.8", "ipv4-compatible"),
            ("64:ff9b::7f00:1", "nat64"),
            ("64:ff9b::808:808", "nat64"),
            ("64:ff9b:1::a00:1", "nat64"),
            ("100::1", "discard"),
            ("2001::1", "teredo"),
            ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "teredo"),
            ("2001:2::1", "benchmarking"),
            ("2001:10::1", "reserved"),
            ("2001:db8::1", "documentation"),
            ("2002:7f00:1::1", "6to4"),
            ("2002:808:808::", "6to4"),
            ("3fff::1", "documentation"),
            ("fd00:ec2::254", "cloud metadata"),
            ("fc00::1", "unique-local"),
            ("fd12:3456::1", "unique-local"),
            ("fe80::1", "link-local"),
            ("febf::1", "link-local"),
            ("fec0::1", "site-local"),
            ("feff::1", "site-local"),
            ("ff02::1", "multicast"),
            ("ff0e::1", "multicast"),
            ("4000::1", "reserved"),
            ("::2:0:0:1", "reserved"),
        ];
        for (ip, want) in cases {
            assert_eq!(reason(&g, ip), Some(*want), "{ip}");
        }
    }

    #[test]
    fn allows_public_unicast() {
        let g = Guard::default();
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "126.255.255.255",
            "128.0.0.0",
            "169.253.255.255",
            "172.15.255.255",
            "172.32.0.0",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2a00:1450:4001:80b::200e",
            "2001:4860:4860::8888",
        ] {
            assert_eq!(reason(&g, ip), None, "{ip}");
        }
    }

    #[test]
    fn allow_list_matches_the_address_as_connected() {
        let g = Guard::new(&["127.0.0.1/32", "10.0.0.0/8", "::1/128", "fd00::1"]).unwrap();
        assert_eq!(reason(&g, "127.0.0.1"), None);
        assert_eq!(reason(&g, "127.0.0.2"), Some("loopback"));
        assert_eq!(reason(&g, "10.200.3.4"), None);
        assert_eq!(reason(&g, "11.0.0.1"), None);
        assert_eq!(reason(&g, "172.16.0.1"), Some("private"));
        assert_eq!(reason(&g, "::1"), None);
        assert_eq!(reason(&g, "fd00::1"), None);
        assert_eq!(reason(&g, "fd00::2"), Some("unique-local"));
        // The embedded address is not what is connected to.
        assert_eq!(reason(&g, "::ffff:127.0.0.1"), Some("ipv4-mapped"));
        assert_eq!(reason(&g, "::ffff:10.0.0.1"), Some("ipv4-mapped"));
        assert_eq!(reason(&g, "64:ff9b::a00:1"), Some("nat64"));
        assert_eq!(reason(&g, "2002:a00:1::"), Some("6to4"));
        assert_eq!(reason(&g, "::127.0.0.1"), Some("ipv4-compatible"));
    }

    #[test]
    fn allow_list_parsing() {
        let g = Guard::new(&["10.1.2.3/8"]).unwrap();
        assert_eq!(reason(&g, "10.9.9.9"), None);
        let g = Guard::new(&["0.0.0.0/0"]).unwrap();
        assert_eq!(reason(&g, "169.254.169.254"), None);
        assert_eq!(reason(&g, "::1"), Some("loopback"));
        assert!(Guard::new(&[]).unwrap() == Guard::default());
        assert!(!Guard::default().allows_any());
        assert!(Guard::new(&[" 192.168.1.0/24 "]).unwrap().allows_any());
        assert!(matches!(
            Guard::new(&["localhost"]),
            Err(GuardError::Address(_))
        ));
        assert!(matches!(
            Guard::new(&["10.0.0.0/33"]),
            Err(GuardError::Prefix(_, 32))
        ));
        assert!(matches!(
            Guard::new(&["::/129"]),
            Err(GuardError::Prefix(_, 128))
        ));
        assert!(matches!(
            Guard::new(&["10.0.0.0/x"]),
            Err(GuardError::Prefix(_, 32))
        ));
        assert!(matches!(
            Guard::new(&["10.0.0/8"]),
            Err(GuardError::Address(_))
        ));
        let msg = Guard::new(&["10.0.0.0/40"]).unwrap_err().to_string();
        assert_eq!(
            msg,
            "bad allow-list range \"10.0.0.0/40\": prefix length must be a number up to 32"
        );
    }

    #[test]
    fn refusal_display() {
        let r = Guard::default()
            .check("127.0.0.1".parse().unwrap())
            .unwrap_err();
        assert_eq!(r.to_string(), "127.0.0.1 is a loopback address");
    }

    fn url_refusal(g: &Guard, url: &str) -> Result<(), (String, IpAddr, &'static str)> {
        let url = Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        g.check_url(&url).map_err(|e| match e {
            FetchError::Refused { host, addr, reason } => (host, addr, reason),
            other => panic!("{url}: {other}"),
        })
    }

    #[test]
    fn ip_literal_notations_are_refused() {
        let g = Guard::default();
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        for url in [
            "http://127.0.0.1/",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0177.0.0.1/",
            "http://0x7f.1/",
            "http://127.1/",
            "http://127.0.1/",
            "http://0x7f.0.0.1/",
            "http://017700000001/",
            "https://127.0.0.1.:8443/x",
            "http://user:pass@127.0.0.1/",
            "http://example.com@127.0.0.1/",
        ] {
            let (_, addr, reason) = url_refusal(&g, url).unwrap_err();
            assert_eq!((addr, reason), (lo, "loopback"), "{url}");
        }
        let cases: &[(&str, &str, &str)] = &[
            (
                "http://[::ffff:127.0.0.1]/",
                "::ffff:127.0.0.1",
                "ipv4-mapped",
            ),
            ("http://[::1]/", "::1", "loopback"),
            ("http://[0:0:0:0:0:0:0:1]/", "::1", "loopback"),
            ("http://[::]/", "::", "unspecified"),
            ("http://0/", "0.0.0.0", "unspecified"),
            ("http://0.0.0.0/", "0.0.0.0", "unspecified"),
            (
                "http://169.254.169.254/latest/meta-data/",
                "169.254.169.254",
                "cloud metadata",
            ),
            ("http://[fd00:ec2::254]/", "fd00:ec2::254", "cloud metadata"),
            ("http://0xa9fea9fe/", "169.254.169.254", "cloud metadata"),
            ("http://10.0.0.1/", "10.0.0.1", "private"),
            ("http://[64:ff9b::7f00:1]/", "64:ff9b::7f00:1", "nat64"),
            ("http://[2002:7f00:1::]/", "2002:7f00:1::", "6to4"),
        ];
        for (url, addr, want) in cases {
            let (_, got_addr, reason) = url_refusal(&g, url).unwrap_err();
            assert_eq!((got_addr, reason), (addr.parse().unwrap(), *want), "{url}");
        }
        let (host, ..) = url_refusal(&g, "http://[::1]:8080/").unwrap_err();
        assert_eq!(host, "[::1]");
        let (host, ..) = url_refusal(&g, "http://2130706433/").unwrap_err();
        assert_eq!(host, "127.0.0.1");
    }

    #[test]
    fn check_url_scheme_and_host() {
        let g = Guard::default();
        let check = |u: &str| g.check_url(&Url::parse(u).unwrap());
        assert!(check("https://example.com/a.jpg").is_ok());
        assert!(check("http://93.184.215.14/").is_ok());
        assert!(check("http://[2606:4700::1]/").is_ok());
        // Names are judged after resolution, by the fetcher's resolver.
        assert!(check("http://localhost/").is_ok());
        for (url, scheme) in [
            ("ftp://example.com/x", "ftp"),
            ("file:///etc/passwd", "file"),
            ("gopher://127.0.0.1/", "gopher"),
            ("data:text/plain,hi", "data"),
            ("javascript:alert(1)", "javascript"),
        ] {
            match check(url) {
                Err(e @ FetchError::Scheme(_)) => {
                    assert_eq!(e.code(), "bad-scheme");
                    assert_eq!(
                        e.to_string(),
                        format!("scheme {scheme:?} is not http or https")
                    );
                }
                other => panic!("{url}: {other:?}"),
            }
        }
        let allowed = Guard::new(&["127.0.0.1"]).unwrap();
        assert!(
            allowed
                .check_url(&Url::parse("http://127.1:9/").unwrap())
                .is_ok()
        );
        assert!(
            allowed
                .check_url(&Url::parse("http://[::ffff:7f00:1]/").unwrap())
                .is_err()
        );
    }
}
