//! NTLM crypto (MS-NLMP §3.3, §3.4.5): to be filled by the crypto work.
#![forbid(unsafe_code)]
