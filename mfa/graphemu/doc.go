// Package graphemu is a local Microsoft Graph wire-format server ("graph emulator") for tests,
// benchmarks and `mfaportal graph-emulator`. It is never part of the product path: the portal only
// talks to it when pointed at it.
//
// It speaks Graph's wire format for the endpoints the portal uses (SPEC §4) closely enough for the
// real msgraph-sdk-go client and azidentity client credentials to work against it, and it enforces
// Microsoft's documented contract strictly (SPEC §8): a client that works here should not be refused
// by Graph for breaking a documented rule. Sources are pages of github.com/microsoftgraph/
// microsoft-graph-docs-contrib (learn.microsoft.com/graph) unless another repository is named.
//
// # Endpoints
//
// {v} is v1.0 or beta; every Graph call needs a bearer token from the token endpoint.
//
//	endpoint                                                   source
//	POST /{tenant}/oauth2/v2.0/token                           Microsoft identity platform, client
//	                                                           credentials flow (secret or assertion)
//	GET  /{tenant}/v2.0/.well-known/openid-configuration       OpenID discovery (for MSAL)
//	GET  /common/discovery/instance                            AAD instance discovery (for MSAL)
//	GET  /{v}/users                                            v1.0/api/user-list.md: $select, $top
//	                                                           1..999 (default 100), $filter on
//	                                                           accountEnabled, $count with
//	                                                           ConsistencyLevel: eventual; nextLink
//	GET  /{v}/users/{id | userPrincipalName}                   v1.0/api/user-get.md
//	POST /{v}/users/{id}/revokeSignInSessions                  v1.0/api/user-revokesigninsessions.md
//	GET|PATCH /beta/users/{id}/authentication/requirements     beta/api/authentication-get.md and
//	                                                           authentication-update.md (per-user MFA)
//	GET|PATCH /beta/users/{id}/authentication/signInPreferences  the same pages (system-preferred MFA,
//	                                                           the default method)
//	GET  /{v}/users/{id}/authentication/methods[/{id}]         v1.0/api/authentication-list-methods.md
//	GET|DELETE /{v}/users/{id}/authentication/{phone|microsoftAuthenticator|softwareOath|fido2|email|
//	                                          password}Methods/{id}   the typed methods' pages
//	GET|DELETE /beta/users/{id}/authentication/hardwareOathMethods/{id}  beta only (below)
//	GET|PATCH /{v}/policies/authenticationMethodsPolicy[/authenticationMethodConfigurations[/{id}]]
//	                                                           authenticationmethodspolicy-get/update
//	GET  /{v}/directoryRoles, /{v}/directoryRoles/{id | roleTemplateId=…}[/members]
//	                                                           v1.0/api/directoryrole-list(-members).md
//	GET  /{v}/identity/conditionalAccess/policies              conditionalaccessroot-list-policies.md,
//	                                                           conditionalaccesspolicy.md (one page)
//	GET  /{v}/policies/identitySecurityDefaultsEnforcementPolicy
//	                                                           identitysecuritydefaultsenforcementpolicy-get.md
//	GET  /{v}/groups/{id}[/transitiveMembers]                  group-get.md, group-list-transitivemembers.md:
//	                                                           users and nested groups with @odata.type,
//	                                                           $select, $top 1..999 (default 100), nextLink
//	GET  /{v}/reports/authenticationMethods/userRegistrationDetails
//	                                                           authenticationmethodsroot-list-
//	                                                           userregistrationdetails.md: pages of 1,000
//	                                                           (undocumented size) with nextLink
//	POST /{v}/$batch                                           concepts/json-batching.md
//
// # Rules
//
//	rule                                                        source
//	$batch: at most 20 requests; ids unique, case-insensitive   json-batching.md ("limited to 20
//	                                                            individual requests", "Must be unique")
//	$batch: fully parallel (no dependsOn) or fully sequential   json-batching.md ("Batch should be either
//	  (each request depends on the one before), else 400          fully sequential or fully parallel");
//	  BadRequest "Batch should be either fully sequential or     microsoft-graph-docs-contrib #2339
//	  fully parallel"                                             (a mixed batch gets that 400; confirmed)
//	$batch: dependsOn names an earlier request only, else 400   msgraph-sdk-dotnet-core #891 ("Invalid
//	                                                            dependency for request Id"), java-core #71
//	$batch: after a failed request of a sequential batch, 424   json-batching.md
//	$batch: parallel requests run and answer in any order       json-batching.md ("might appear in a
//	                                                            different order")
//	$batch: each request metered on its own; 429 per item       json-batching.md, throttling.md
//	Quota per application+tenant: 3,500 / 5,000 / 8,000 RU per  throttling-limits.md, "Identity and
//	  10 s for tenants under 50 / 50–500 / over 500 users;        access service limits"
//	  3,000 writes per 150 s
//	Quota per application (all tenants): 150,000 RU per 20 s,   throttling-limits.md
//	  70,000 writes per 5 min
//	Quota per tenant (all applications): 18,000 writes / 5 min  throttling-limits.md
//	Costs: GET users 2, others 1; −1 with $select, −1 with      throttling-limits.md ("base request
//	  $top < 20, never below 1; a POST, PATCH, DELETE is 1 write  costs", "Other factors")
//	429: Retry-After in whole seconds (no millisecond header);  throttling.md ("Sample response",
//	  body code TooManyRequests                                   "Wait the number of seconds")
//	429 of a quota: x-ms-throttle-scope                         throttling-limits.md ("Throttled
//	  <Scope>/<Limit>/<ApplicationId>/<TenantId> (the tenant's    responses requests"); tokens' tid
//	  GUID), x-ms-throttle-information
//	Answers: x-ms-resource-unit; x-ms-throttle-limit-percentage throttling-limits.md ("Regular responses")
//	  from 80 % of a quota
//	Errors: {"error": {code, message, innerError}}; $top out   concepts/errors.md; query-parameters.md
//	  of 1..999 → 400 Request_UnsupportedQuery                    and microsoft-graph-docs #4372 (999)
//	requirements and signInPreferences exist on beta only      v1.0 authenticationmethods-overview.md
//	                                                            ("not yet supported in v1.0")
//	PATCH requirements "enabled" on a user with methods gives   the original page's behaviour (SPEC §1:
//	  "enforced"                                                   registration completes → Enforced)
//	Hardware OATH tokens exist on beta only: v1.0 lists never   v1.0 authenticationmethods-overview.md
//	  return them and v1.0 has no hardwareOathMethods            ("Hardware token": not yet in v1.0);
//	                                                            v1.0 authentication-list-methods.md
//	Deleting the default method while any other remains: 400    microsoft-graph-docs #14470 (Graph's
//	  badRequest "Cannot delete default method with other         answer, quoted); phoneauthentication-
//	  methods configured. Please change default method before     method-delete.md
//	  deletion."
//	… system-preferred MFA does not lift it                     microsoft-graph-docs #20895 (Microsoft:
//	                                                            the default still matters, NPS/ADFS)
//	Deleting the mobile phone while an alternate mobile phone   phoneauthenticationmethod-delete.md
//	  remains: 400
//	The password method cannot be deleted                       authenticationmethods-overview.md
//	System-preferred MFA on in a new tenant (policy's           beta systemcredentialpreferences.md;
//	  systemCredentialPreferences, beta only; signInPreferences   signinpreferences.md
//	  isSystemPreferredAuthenticationMethodEnabled); off with
//	  Options.SystemPreferredMFAOff
//	Permissions per endpoint (403 Authorization_RequestDenied): the permissions pages of each API:
//	  users User.Read.All; requirements Policy.Read.All to read, Policy.ReadWrite.AuthenticationMethod
//	  to change; methods and signInPreferences UserAuthenticationMethod.Read(Write).All; policy
//	  Policy.Read.All / Policy.ReadWrite.AuthenticationMethod; roles RoleManagement.Read.Directory;
//	  Conditional Access policies and security defaults Policy.Read.All; groups and transitive
//	  members GroupMember.ReadBasic.All (least privileged), GroupMember.Read.All, Group.Read.All,
//	  Directory.Read.All; the registration report AuditLog.Read.All or
//	  UserAuthenticationMethod.Read.All (includes/permissions/*-permissions.md)
//	The registration report needs Microsoft Entra ID P1 or P2: 403     authenticationmethods-usage-insights-
//	  Authentication_RequestFromNonPremiumTenantOrB2CTenant "Neither  overview.md ("Licenses");
//	  tenant is B2C or tenant doesn't have premium license"            microsoft-graph-docs-contrib #8777
//	  (Options.NoPremiumLicense, SetPremiumLicense)                    (this endpoint's answer, quoted)
//	A tenant without P1/P2 has no Conditional Access and security   seeds/003 ("For Azure AD free tenants
//	  defaults on (NoPremiumLicense)                                  without Conditional Access, you can
//	                                                                  use security defaults")
//	transitiveMembers lists nested groups as members too, each      group-list-transitivemembers.md
//	  member once; casts and $filter/$count need ConsistencyLevel     ("returns a flat list of all nested
//	  (advanced queries): not emulated, refused                       members"; "advanced query parameters")
//	Seeded Conditional Access (caseed.go): a baseline for all users  Entra "Manage emergency access
//	  minus two break-glass admins and an exclusion group, admins by  accounts", "Conditional Access
//	  role with the built-in MFA authentication strength, a pilot     templates"; authenticationstrength
//	  group (nested two deep), service accounts in report-only, a     policy.md (built-in strengths)
//	  disabled guest policy, one limited to untrusted locations
//
// # Pointing the real clients at it
//
// azidentity and MSAL require https for the authority, so start the emulator with StartTLS and give
// both the SDK and azidentity Server.Client()'s transport (or trust CertificatePEM through
// SSL_CERT_FILE in another process). For azidentity set
// ClientOptions.Cloud.ActiveDirectoryAuthorityHost to baseURL+"/" and DisableInstanceDiscovery: MSAL
// otherwise asks login.microsoftonline.com to validate an unknown authority host. The Graph base URL
// is baseURL+"/v1.0" (beta: baseURL+"/beta"); kiota's allowed hosts compare the host name without
// the port ("127.0.0.1"), and a request to a host not allowed is sent without a token (401).
//
// # Deviations worth knowing
//
// The registration report is always current (Graph's may lag: lastUpdatedDateTime says when a record
// was updated; the emulator gives the time the user's methods last changed). Query options the
// Conditional Access endpoints document ($filter, $top, $select...) are not emulated and refused.
// Step URLs must be relative to the batch's version ("/users/…" or "users?…"); absolute URLs are
// refused with 400. The email method does not count as an MFA method for the enabled→enforced rule.
// Time-scaled quotas (Quotas.TimeScale) shrink the windows but Retry-After stays in whole seconds.
// Tokens are HMAC-signed by the emulator and are not real Entra tokens; client assertions are checked
// only for their certificate thumbprint, not their signature. Graph may also throttle below the
// documented limits under load; the emulator throttles exactly at them (and by Faults).
package graphemu
