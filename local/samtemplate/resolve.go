package samtemplate

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The resolver reads template values as CloudFormation would from parameters alone:
// Ref, the pseudo parameters, Fn::Sub, Fn::Join, Fn::If, Fn::Select, Fn::Split and the
// condition functions.

// resolver holds what a template value may refer to: parameters, pseudo parameters and
// conditions.
type resolver struct {
	params map[string]string
	pseudo map[string]string
	conds  map[string]any
}

func (r *resolver) optString(v any) (string, error) {
	if v == nil {
		return "", nil
	}
	return r.String(v)
}

// present resolves Fn::If down to the value it picks and reports whether there is one:
// a missing property or AWS::NoValue is not there.
func (r *resolver) present(v any) (any, bool) {
	for v != nil {
		m := mapOf(v)
		if ref, ok := m["Ref"]; ok && len(m) == 1 && str(ref) == "AWS::NoValue" {
			return nil, false
		}
		arg, ok := m["Fn::If"]
		if !ok || len(m) != 1 {
			return v, true
		}
		l := listOf(arg)
		if len(l) != 3 {
			return v, true // String reports the malformed Fn::If
		}
		pick, err := r.condition(str(l[0]))
		if err != nil {
			return v, true
		}
		v = l[2]
		if pick {
			v = l[1]
		}
	}
	return nil, false
}

// property resolves an optional property to a string; ok is false when it is left out
// (or AWS::NoValue). The error names the property.
func (r *resolver) property(p map[string]any, key string) (s string, ok bool, err error) {
	v, ok := r.present(p[key])
	if !ok {
		return "", false, nil
	}
	s, err = r.String(v)
	if errors.Is(err, errNoValue) {
		return "", false, nil
	}
	if err != nil {
		return "", true, fmt.Errorf("%s: %w", key, err)
	}
	return s, true, nil
}

// flag reads an optional boolean property.
func (r *resolver) flag(p map[string]any, key string) (bool, error) {
	s, _, err := r.property(p, key)
	return s == "true", err
}

// text reads an optional string property, def when it is left out.
func (r *resolver) text(p map[string]any, key, def string) (string, error) {
	s, ok, err := r.property(p, key)
	if !ok {
		return def, err
	}
	return s, err
}

// number reads an optional integer property, def when it is left out.
func (r *resolver) number(p map[string]any, key string, def int) (int, error) {
	s, ok, err := r.property(p, key)
	if !ok || err != nil {
		return def, err
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return def, fmt.Errorf("%w: %s %q is not a whole number", ErrTemplate, key, s)
	}
	return n, nil
}

var subVar = regexp.MustCompile(`\$\{([^}!][^}]*)\}`)

// String resolves a template value to a string: scalars, Ref to parameters and pseudo
// parameters, Fn::Sub, Fn::Join, Fn::If, Fn::Select, Fn::Split, Fn::Equals.
func (r *resolver) String(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string, bool, int, float64:
		return scalar(v), nil
	case map[string]any:
		if len(v) != 1 {
			break
		}
		for fn, arg := range v {
			switch fn {
			case "Ref":
				return r.ref(str(arg))
			case "Fn::Sub":
				return r.sub(arg)
			case "Fn::Join":
				return r.join(arg)
			case "Fn::If":
				return r.ifString(arg)
			case "Fn::Select":
				return r.selectString(arg)
			case "Fn::GetAtt", "Fn::ImportValue", "Fn::GetAZs", "Fn::FindInMap", "Fn::Base64", "Fn::Cidr":
				return "", fmt.Errorf("%w: %s is resolved only by AWS", ErrTemplate, fn)
			}
		}
	}
	return "", fmt.Errorf("%w: cannot read %v as a string", ErrTemplate, v)
}

// ref resolves a parameter or pseudo parameter.
func (r *resolver) ref(name string) (string, error) {
	if name == "AWS::NoValue" {
		return "", errNoValue
	}
	if p, ok := r.params[name]; ok {
		return p, nil
	}
	if p, ok := r.pseudo[name]; ok {
		return p, nil
	}
	return "", fmt.Errorf("%w: unresolved Ref %s", ErrTemplate, name)
}

// sub resolves Fn::Sub: "text ${Name}" or ["text ${Var}", {Var: value}].
func (r *resolver) sub(arg any) (string, error) {
	tmpl, vars := arg, map[string]any{}
	if l := listOf(arg); len(l) == 2 {
		tmpl, vars = l[0], mapOf(l[1])
	}
	s, ok := tmpl.(string)
	if !ok {
		return "", fmt.Errorf("%w: Fn::Sub wants a string", ErrTemplate)
	}
	var firstErr error
	out := subVar.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		var val string
		var err error
		if x, ok := vars[name]; ok {
			val, err = r.String(x)
		} else {
			val, err = r.ref(name)
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return val
	})
	out = strings.ReplaceAll(out, "${!", "${")
	return out, firstErr
}

// join resolves Fn::Join: [delimiter, list].
func (r *resolver) join(arg any) (string, error) {
	l := listOf(arg)
	if len(l) != 2 {
		return "", fmt.Errorf("%w: Fn::Join wants [delimiter, list]", ErrTemplate)
	}
	parts := []string{}
	for _, x := range listOf(l[1]) {
		s, err := r.String(x)
		if err != nil {
			return "", err
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, str(l[0])), nil
}

// ifString resolves Fn::If: [condition, then, else].
func (r *resolver) ifString(arg any) (string, error) {
	l := listOf(arg)
	if len(l) != 3 {
		return "", fmt.Errorf("%w: Fn::If wants [condition, then, else]", ErrTemplate)
	}
	ok, err := r.condition(str(l[0]))
	if err != nil {
		return "", err
	}
	if ok {
		return r.String(l[1])
	}
	return r.String(l[2])
}

// selectString resolves Fn::Select: [index, list].
func (r *resolver) selectString(arg any) (string, error) {
	l := listOf(arg)
	if len(l) != 2 {
		return "", fmt.Errorf("%w: Fn::Select wants [index, list]", ErrTemplate)
	}
	is, err := r.String(l[0])
	if err != nil {
		return "", err
	}
	i, err := strconv.Atoi(is)
	if err != nil {
		return "", fmt.Errorf("%w: Fn::Select index %q", ErrTemplate, is)
	}
	list, err := r.list(l[1])
	if err != nil {
		return "", err
	}
	if i < 0 || i >= len(list) {
		return "", fmt.Errorf("%w: Fn::Select index %d out of range", ErrTemplate, i)
	}
	return list[i], nil
}

func (r *resolver) list(v any) ([]string, error) {
	if m := mapOf(v); m != nil {
		if arg, ok := m["Fn::Split"]; ok {
			l := listOf(arg)
			if len(l) != 2 {
				return nil, fmt.Errorf("%w: Fn::Split wants [delimiter, string]", ErrTemplate)
			}
			s, err := r.String(l[1])
			if err != nil {
				return nil, err
			}
			return strings.Split(s, str(l[0])), nil
		}
	}
	var out []string
	for _, x := range listOf(v) {
		s, err := r.String(x)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// Condition evaluates v, a condition function (Fn::Equals, Fn::And, Fn::Or, Fn::Not or
// Condition), as CloudFormation does from parameter values alone; conds are the
// template's Conditions. A Rules assertion takes the same functions.
func Condition(params map[string]string, conds map[string]any, v any) (bool, error) {
	r := &resolver{params: params, conds: conds}
	return r.boolean(v)
}

func (r *resolver) condition(name string) (bool, error) {
	c, ok := r.conds[name]
	if !ok {
		return false, fmt.Errorf("%w: unknown condition %s", ErrTemplate, name)
	}
	return r.boolean(c)
}

func (r *resolver) boolean(v any) (bool, error) {
	m := mapOf(v)
	for fn, arg := range m {
		l := listOf(arg)
		switch fn {
		case "Fn::Equals":
			if len(l) != 2 {
				return false, fmt.Errorf("%w: Fn::Equals wants two values", ErrTemplate)
			}
			a, err := r.String(l[0])
			if err != nil {
				return false, err
			}
			b, err := r.String(l[1])
			if err != nil {
				return false, err
			}
			return a == b, nil
		case "Fn::Not":
			if len(l) != 1 {
				return false, fmt.Errorf("%w: Fn::Not wants one condition", ErrTemplate)
			}
			b, err := r.boolean(l[0])
			return !b, err
		case "Fn::And", "Fn::Or":
			if len(l) < 2 || len(l) > 10 {
				return false, fmt.Errorf("%w: %s wants 2 to 10 conditions", ErrTemplate, fn)
			}
			all := fn == "Fn::And"
			for _, x := range l {
				b, err := r.boolean(x)
				if err != nil {
					return false, err
				}
				if all && !b {
					return false, nil
				}
				if !all && b {
					return true, nil
				}
			}
			return all, nil
		case "Condition":
			return r.condition(str(arg))
		}
	}
	return false, fmt.Errorf("%w: cannot read %v as a condition", ErrTemplate, v)
}

func mapOf(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func listOf(v any) []any {
	l, _ := v.([]any)
	return l
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func scalar(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case int:
		return strconv.Itoa(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}
