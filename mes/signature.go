package mes

import (
	"context"
	"fmt"
)

// Meaning is what a signer declares by signing (21 CFR Part 11 §11.50(a)(3)).
type Meaning string

// Common meanings.
const (
	Review         Meaning = "review"
	Approval       Meaning = "approval"
	Responsibility Meaning = "responsibility"
)

// Credentials are what a signer gives to sign: two distinct identification components
// (an id and a secret such as a password) and the meaning of the signature. Takt passes them
// to the host's SignatureVerifier and never stores the secret.
type Credentials struct {
	SignerID string
	Secret   string
	Meaning  Meaning
}

// Signer is the person a SignatureVerifier authenticated.
type Signer struct {
	ID    string
	Name  string // printed name, shown with every signature
	Roles []string
}

// SignatureVerifier authenticates a signer (21 CFR Part 11 §11.200: two distinct
// identification components). Hosts implement it against their identity system. Return an
// error wrapping ErrSignatureInvalid to refuse.
type SignatureVerifier interface {
	VerifySignature(ctx context.Context, c Credentials) (Signer, error)
}

// signatureRule says that an action needs a signature with a meaning.
type signatureRule struct {
	meaning Meaning
}

// WithSignatureRequired makes action (one of Actions, for example "hold.release" or
// "routing.publish"; Open refuses any other name) require an electronic signature with the
// given meaning, by a signer who is authorised for the action. It needs
// WithSignatureVerifier. With "workorder.start", the first track-in of a released order,
// which starts it, needs that signature too.
func WithSignatureRequired(action string, meaning Meaning) Option {
	return func(p *Plant) error {
		if action == "" || meaning == "" {
			return fmt.Errorf("%w: WithSignatureRequired needs an action and a meaning", ErrInvalid)
		}
		if err := checkAction("WithSignatureRequired", action); err != nil {
			return err
		}
		p.signatures[action] = signatureRule{meaning: meaning}
		return nil
	}
}

// WithSignatureVerifier sets how signers are authenticated.
func WithSignatureVerifier(v SignatureVerifier) Option {
	return func(p *Plant) error { p.verifier = v; return nil }
}
