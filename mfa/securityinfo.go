package mfa

import (
	"context"
	"time"
)

// MethodInfo is a registered method as the security info pages show it.
type MethodInfo struct {
	Type      MethodType
	Label     string
	IsDefault bool
	Masked    string    // the masked phone number; "" otherwise
	AddedAt   time.Time // zero: registered elsewhere (users import), when is unknown
}

// SecurityInfo is a user's methods and app passwords, for their own page and the admin's.
type SecurityInfo struct {
	Methods      []MethodInfo
	AppPasswords []AppPassword // without their hashes
}

func (s *SelfService) securityInfo(ctx context.Context, u *User) (*SecurityInfo, error) {
	d, err := s.Store.SecurityDetails(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	info := &SecurityInfo{}
	for _, m := range u.Methods {
		mi := MethodInfo{Type: m.Type, Label: UserLabel(m.Type), IsDefault: m.IsDefault}
		if det, ok := d.Method(m.Type); ok {
			mi.AddedAt = det.AddedAt
			if det.Phone != "" {
				mi.Masked = MaskPhone(det.Phone)
			}
		}
		if m.IsDefault {
			info.Methods = append([]MethodInfo{mi}, info.Methods...)
		} else {
			info.Methods = append(info.Methods, mi)
		}
	}
	for _, a := range d.AppPasswords {
		a.Hash, a.Hint = "", ""
		info.AppPasswords = append(info.AppPasswords, a)
	}
	return info, nil
}

// MySecurityInfo is the signed-in user's own security info.
func (s *SelfService) MySecurityInfo(ctx context.Context, sess *UserSession, u *User) (*SecurityInfo, error) {
	if err := requireStage(sess, NeedNothing); err != nil {
		return nil, err
	}
	return s.securityInfo(ctx, u)
}

// UserSecurityInfo is a user's security info for an admin's user page (every role may see it).
func (s *SelfService) UserSecurityInfo(ctx context.Context, actor Actor, u *User) (*SecurityInfo, error) {
	if err := actor.Require(PermView); err != nil {
		return nil, err
	}
	return s.securityInfo(ctx, u)
}

// SetDefaultMethod makes one of the user's methods the default sign-in method.
func (s *SelfService) SetDefaultMethod(ctx context.Context, sess *UserSession, u *User, t MethodType, ip string) error {
	if err := requireStage(sess, NeedNothing); err != nil {
		return err
	}
	_, err := s.Store.UpdateSecurity(ctx, u.UPN, func(u *User, d *SecurityDetails) (*SecurityChange, error) {
		if !hasMethod(u, t) {
			return nil, FieldErrorf("method", "you have no such method registered")
		}
		if cur, _ := u.DefaultMethod(); cur == t {
			return nil, nil
		}
		rec := NewAuditRecord(UserActor(u, ip), SourceSecurityInfo, "", s.now())
		rec.Action, rec.Target, rec.Before = AuditMethodDefault, u.UPN, FormatMethodList(u.Methods)
		u.Methods = withMethod(u.Methods, t, true)
		rec.After = FormatMethodList(u.Methods)
		return &SecurityChange{Records: []*AuditRecord{&rec}}, nil
	})
	return err
}

// DeleteMethod deletes one of the user's methods and its details. The last method of an Enforced
// user cannot be deleted: they could not sign in again without registering (SPEC §7). When the
// default goes, the next method becomes the default.
func (s *SelfService) DeleteMethod(ctx context.Context, sess *UserSession, u *User, t MethodType, ip string) error {
	if err := requireStage(sess, NeedNothing); err != nil {
		return err
	}
	_, err := s.Store.UpdateSecurity(ctx, u.UPN, func(u *User, d *SecurityDetails) (*SecurityChange, error) {
		if !hasMethod(u, t) {
			return nil, FieldErrorf("method", "you have no such method registered")
		}
		if len(u.Methods) == 1 && u.State == StateEnforced {
			return nil, FieldErrorf("method", "%s is your only sign-in method and your organization requires multi-factor authentication: add another method before you delete it", UserLabel(t))
		}
		rec := NewAuditRecord(UserActor(u, ip), SourceSecurityInfo, "", s.now())
		rec.Action, rec.Target, rec.Before = AuditMethodDelete, u.UPN, FormatMethodList(u.Methods)
		var rest []Method
		for _, m := range u.Methods {
			if m.Type != t {
				rest = append(rest, Method{Type: m.Type, IsDefault: m.IsDefault})
			}
		}
		if len(rest) > 0 {
			if _, ok := (&User{Methods: rest}).DefaultMethod(); !ok {
				rest[0].IsDefault = true
			}
		}
		u.Methods = rest
		rec.After = FormatMethodList(u.Methods)
		if rec.After == "" {
			rec.After = "none"
		}
		return &SecurityChange{DeleteMethod: t, Records: []*AuditRecord{&rec}}, nil
	})
	return err
}

func hasMethod(u *User, t MethodType) bool {
	for _, m := range u.Methods {
		if m.Type == t {
			return true
		}
	}
	return false
}
