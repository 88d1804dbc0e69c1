//! NTLM wire formats (MS-NLMP §2.2): to be filled by the wire work.
#![forbid(unsafe_code)]
