package views

import (
	"net/url"
)

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
