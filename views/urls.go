package views

import (
	"context"
	"net/url"
	"strings"
)

// jsonHeaderKey is the context key of the header a page's JSON form requires.
type jsonHeaderKey struct{}

// WithJSONHeader returns a context telling the layout which request header the page's JSON form requires (the
// /v1 API's Client-Request-Id), so that "Copy curl" sends it; the server decides it from the route, once.
func WithJSONHeader(ctx context.Context, header string) context.Context {
	return context.WithValue(ctx, jsonHeaderKey{}, header)
}

// jsonHeader returns the header set by WithJSONHeader, or "".
func jsonHeader(ctx context.Context) string {
	header, _ := ctx.Value(jsonHeaderKey{}).(string)
	return header
}

// signedInKey is the context key of the name of the token a browser signed in with.
type signedInKey struct{}

// WithSignedIn returns a context telling the layout whose session the page is shown to, so that it names them
// and offers to sign out.
func WithSignedIn(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, signedInKey{}, name)
}

// signedIn returns the name set by WithSignedIn, or "".
func signedIn(ctx context.Context) string {
	name, _ := ctx.Value(signedInKey{}).(string)
	return name
}

// JSONURL returns the URL of the JSON form of a page URL (its path and query) by setting format=json.
func JSONURL(pageURL string) string {
	u, err := url.Parse(pageURL)
	if err != nil {
		return pageURL
	}
	q := u.Query()
	q.Set("format", "json")
	u.RawQuery = q.Encode()
	return u.RequestURI()
}

// StacksURL is the address of a project's stack list.
func StacksURL(projectID string) string {
	return "/v1/" + url.PathEscape(projectID) + "/stacks"
}

// StackURL is the address of one stack's page.
func StackURL(projectID, stackName string) string {
	return StacksURL(projectID) + "/" + url.PathEscape(stackName)
}

// ProductURL is the address of one product's page.
func ProductURL(name string) string {
	return "/api/products/" + url.PathEscape(name)
}

// dataVersionKey is the context key of the data version a page is rendered from.
type dataVersionKey struct{}

// WithDataVersion returns a context telling the layout the data version read before the page's queries ran: the
// page holds every change up to it, so its event stream replays whatever changed after it (the server decides it
// once, per request).
func WithDataVersion(ctx context.Context, version string) context.Context {
	return context.WithValue(ctx, dataVersionKey{}, version)
}

// EventsURL is the address of the live-update stream for a page's topics, from the data version the page was
// rendered at when the context has one.
func EventsURL(ctx context.Context, topics []string) string {
	u := "/events?topics=" + url.QueryEscape(strings.Join(topics, ","))
	if version, ok := ctx.Value(dataVersionKey{}).(string); ok && version != "" {
		u += "&since=" + url.QueryEscape(version)
	}
	return u
}

// withQuery returns path with the non-empty parameters given as name/value pairs.
func withQuery(path string, pairs ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			q.Set(pairs[i], pairs[i+1])
		}
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}
