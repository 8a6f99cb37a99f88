package web

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	aos "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/aos/v1"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/aos/v1/model"
)

// newSDKClient builds the official Huawei Cloud SDK's RFS (AOS) client against server. The credentials are fake:
// the SDK signs every request with them, and a server without a tokens file does not check signatures.
func newSDKClient(t *testing.T, server *httptest.Server, projectID string) *aos.AosClient {
	t.Helper()
	credentials, err := basic.NewCredentialsBuilder().WithAk("FAKEACCESSKEY").WithSk("fake-secret-key").
		WithProjectId(projectID).SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	client, err := aos.AosClientBuilder().WithEndpoints([]string{server.URL}).WithCredential(credentials).SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	return aos.NewAosClient(client)
}

// sdkError asserts that err is the SDK's ServiceResponseError with the given status, error_code and error_msg, and
// that it carries the request id, which the server takes from the Client-Request-Id the SDK sent.
func sdkError(t *testing.T, err error, requestID string, status int, code, message string) {
	t.Helper()
	var got *sdkerr.ServiceResponseError
	if !errors.As(err, &got) {
		t.Fatalf("error %v (%T), want a *sdkerr.ServiceResponseError", err, err)
	}
	if got.StatusCode != status || got.ErrorCode != code || got.ErrorMessage != message || got.RequestId != requestID {
		t.Errorf("error status %d, code %q, message %q, request id %q;\nwant %d, %q, %q, %q",
			got.StatusCode, got.ErrorCode, got.ErrorMessage, got.RequestId, status, code, message, requestID)
	}
}

// sdkStackNames walks ListStacks through page_info.next_marker, as an SDK user pages, and returns the names.
func sdkStackNames(t *testing.T, client *aos.AosClient, limit int32) []string {
	t.Helper()
	var names []string
	request := &model.ListStacksRequest{ClientRequestId: uuid.NewString(), Limit: &limit}
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("the pages do not end")
		}
		response, err := client.ListStacks(request)
		if err != nil {
			t.Fatalf("ListStacks(limit %d, marker %v): %v", limit, deref(request.Marker), err)
		}
		if response.Stacks == nil || response.PageInfo == nil || response.PageInfo.CurrentCount == nil {
			t.Fatalf("ListStacks(limit %d): a page without stacks or page_info.current_count: %v", limit, response)
		}
		if got := int(*response.PageInfo.CurrentCount); got != len(*response.Stacks) || got > int(limit) {
			t.Errorf("page_info.current_count %d on a page of %d stacks (limit %d)", got, len(*response.Stacks), limit)
		}
		for _, s := range *response.Stacks {
			names = append(names, s.StackName)
		}
		if response.PageInfo.NextMarker == nil {
			return names
		}
		request = &model.ListStacksRequest{ClientRequestId: uuid.NewString(), Limit: &limit, Marker: response.PageInfo.NextMarker}
	}
}

// The official SDK drives the RFS operations Stackboard serves as it drives RFS: values decode into its models,
// pages follow page_info, and refusals arrive as its ServiceResponseError with the RF code and message.
func TestHuaweiCloudSDK(t *testing.T) {
	server := httptest.NewServer(newTestServer(openTestDB(t, "spec/list-stacks.yaml")))
	t.Cleanup(server.Close)
	client := newSDKClient(t, server, rfsProject)

	// ListStacks without paging is the documented example, newest first.
	listed, err := client.ListStacks(&model.ListStacksRequest{ClientRequestId: uuid.NewString()})
	if err != nil {
		t.Fatalf("ListStacks: %v", err)
	}
	if listed.HttpStatusCode != http.StatusOK || listed.Stacks == nil || len(*listed.Stacks) != 2 || listed.PageInfo != nil {
		t.Fatalf("ListStacks: %d, %v", listed.HttpStatusCode, listed)
	}
	newest := (*listed.Stacks)[0]
	if newest.StackName != "my_second_stack" || deref(newest.StackId) != secondStackID || deref(newest.Description) != "my second stack" ||
		newest.Status == nil || newest.Status.Value() != "DEPLOYMENT_COMPLETE" ||
		deref(newest.CreateTime) != "2023-05-17T07:34:22Z" || deref(newest.UpdateTime) != "2023-05-17T07:34:44Z" || newest.StatusMessage != nil {
		t.Errorf("the newest stack decodes as %v", newest)
	}
	if oldest := (*listed.Stacks)[1]; oldest.StackName != "my_first_stack" || deref(oldest.StackId) != firstStackID ||
		oldest.Status == nil || oldest.Status.Value() != "CREATION_COMPLETE" {
		t.Errorf("the oldest stack decodes as %v", oldest)
	}

	// CreateStack with RFS's own settings; the answer is 201 with the new stack_id.
	description := "made by the SDK"
	protect, rollback := true, true
	created, err := client.CreateStack(&model.CreateStackRequest{ClientRequestId: uuid.NewString(), Body: &model.CreateStackRequestBody{
		StackName: "sdk_stack", Description: &description, EnableDeletionProtection: &protect, EnableAutoRollback: &rollback,
	}})
	if err != nil {
		t.Fatalf("CreateStack: %v", err)
	}
	if created.HttpStatusCode != http.StatusCreated || created.StackId == nil || !uuidPattern.MatchString(*created.StackId) {
		t.Fatalf("CreateStack: %d, %v", created.HttpStatusCode, created)
	}
	stackID := *created.StackId
	for _, name := range []string{"sdk_second", "sdk_third"} {
		if _, err := client.CreateStack(&model.CreateStackRequest{ClientRequestId: uuid.NewString(),
			Body: &model.CreateStackRequestBody{StackName: name}}); err != nil {
			t.Fatalf("CreateStack %s: %v", name, err)
		}
	}

	// Paging through page_info.next_marker walks the same list as the complete answer, at any page size.
	complete := sdkStackNames(t, client, 1000)
	if want := "sdk_third,sdk_second,sdk_stack,my_second_stack,my_first_stack"; strings.Join(complete, ",") != want {
		t.Fatalf("ListStacks lists %v, want %s", complete, want)
	}
	for _, limit := range []int32{1, 2, 5} {
		if got := sdkStackNames(t, client, limit); strings.Join(got, ",") != strings.Join(complete, ",") {
			t.Errorf("limit %d walks %v, want %v", limit, got, complete)
		}
	}

	// GetStackMetadata shows the settings CreateStack was given.
	metadata, err := client.GetStackMetadata(&model.GetStackMetadataRequest{ClientRequestId: uuid.NewString(), StackName: "sdk_stack", StackId: &stackID})
	if err != nil {
		t.Fatalf("GetStackMetadata: %v", err)
	}
	if metadata.StackName != "sdk_stack" || deref(metadata.StackId) != stackID || deref(metadata.Description) != description ||
		deref(metadata.EnableDeletionProtection) != true || deref(metadata.EnableAutoRollback) != true ||
		metadata.Status == nil || metadata.Status.Value() != "CREATION_COMPLETE" || metadata.CreateTime == nil ||
		deref(metadata.UpdateTime) != *metadata.CreateTime || metadata.StatusMessage != nil {
		t.Errorf("GetStackMetadata decodes as %v", metadata)
	}

	// A protected stack is not deleted.
	requestID := uuid.NewString()
	_, err = client.DeleteStack(&model.DeleteStackRequest{ClientRequestId: requestID, StackName: "sdk_stack", StackId: &stackID})
	sdkError(t, err, requestID, http.StatusForbidden, "RF.10013001",
		`stack "sdk_stack" has deletion protection enabled; update it with enable_deletion_protection false first`)

	// UpdateStack turns protection off and changes the description.
	unprotect, newDescription := false, "updated by the SDK"
	updated, err := client.UpdateStack(&model.UpdateStackRequest{ClientRequestId: uuid.NewString(), StackName: "sdk_stack",
		Body: &model.UpdateStackRequestBody{StackId: &stackID, Description: &newDescription, EnableDeletionProtection: &unprotect}})
	if err != nil {
		t.Fatalf("UpdateStack: %v", err)
	}
	if updated.HttpStatusCode != http.StatusNoContent {
		t.Errorf("UpdateStack: status %d, want 204", updated.HttpStatusCode)
	}
	metadata, err = client.GetStackMetadata(&model.GetStackMetadataRequest{ClientRequestId: uuid.NewString(), StackName: "sdk_stack"})
	if err != nil {
		t.Fatalf("GetStackMetadata after UpdateStack: %v", err)
	}
	if deref(metadata.Description) != newDescription || deref(metadata.EnableDeletionProtection) != false || deref(metadata.EnableAutoRollback) != true {
		t.Errorf("GetStackMetadata after UpdateStack decodes as %v", metadata)
	}

	// ListStackEvents: the history of those writes, newest first, and the same events one page at a time.
	events, err := client.ListStackEvents(&model.ListStackEventsRequest{ClientRequestId: uuid.NewString(), StackName: "sdk_stack", StackId: &stackID})
	if err != nil {
		t.Fatalf("ListStackEvents: %v", err)
	}
	var messages []string
	for _, e := range *events.StackEvents {
		if deref(e.ResourceType) != "stack" || deref(e.ResourceName) != "sdk_stack" || e.Time == nil || e.ElapsedSeconds == nil || e.EventType == nil {
			t.Errorf("an event decodes as %v", e)
			continue
		}
		messages = append(messages, e.EventType.Value()+": "+deref(e.EventMessage))
	}
	// The two changes of one UpdateStack share a second; the one recorded last is listed first.
	wantEvents := "LOG: deletion protection disabled|LOG: description changed|CREATION_COMPLETE: created in CREATION_COMPLETE"
	if strings.Join(messages, "|") != wantEvents || events.PageInfo == nil || events.PageInfo.NextMarker != nil ||
		deref(events.PageInfo.CurrentCount) != 3 {
		t.Errorf("ListStackEvents: %v, page_info %v; want %s on one page", messages, events.PageInfo, wantEvents)
	}
	var paged []string
	limit := int32(1)
	request := &model.ListStackEventsRequest{ClientRequestId: uuid.NewString(), StackName: "sdk_stack", Limit: &limit}
	for pages := 0; pages < 10; pages++ {
		page, err := client.ListStackEvents(request)
		if err != nil {
			t.Fatalf("ListStackEvents(limit 1, marker %v): %v", deref(request.Marker), err)
		}
		for _, e := range *page.StackEvents {
			paged = append(paged, e.EventType.Value()+": "+deref(e.EventMessage))
		}
		if page.PageInfo == nil || page.PageInfo.NextMarker == nil {
			break
		}
		request = &model.ListStackEventsRequest{ClientRequestId: uuid.NewString(), StackName: "sdk_stack", Limit: &limit, Marker: page.PageInfo.NextMarker}
	}
	if strings.Join(paged, "|") != wantEvents {
		t.Errorf("ListStackEvents one at a time: %v, want %s", paged, wantEvents)
	}

	// DeleteStack, now allowed; the stack is gone afterwards.
	deleted, err := client.DeleteStack(&model.DeleteStackRequest{ClientRequestId: uuid.NewString(), StackName: "sdk_stack", StackId: &stackID})
	if err != nil {
		t.Fatalf("DeleteStack: %v", err)
	}
	if deleted.HttpStatusCode != http.StatusNoContent {
		t.Errorf("DeleteStack: status %d, want 204", deleted.HttpStatusCode)
	}
	if got := sdkStackNames(t, client, 1000); strings.Join(got, ",") != "sdk_third,sdk_second,my_second_stack,my_first_stack" {
		t.Errorf("after DeleteStack ListStacks lists %v", got)
	}
}

// Refusals reach SDK users as its ServiceResponseError: the HTTP status, the RF error_code and error_msg, and the
// request id.
func TestHuaweiCloudSDKErrors(t *testing.T) {
	server := httptest.NewServer(newTestServer(openTestDB(t, "spec/list-stacks.yaml")))
	t.Cleanup(server.Close)
	client := newSDKClient(t, server, rfsProject)
	first, second, unknown, badID := firstStackID, secondStackID, "nope", "not-a-uuid"
	badLimit, zero := int32(1001), int32(0)
	tests := []struct {
		name    string
		call    func(requestID string) error
		status  int
		code    string
		message string
	}{
		{"ListStacks limit too high", func(id string) error {
			_, err := client.ListStacks(&model.ListStacksRequest{ClientRequestId: id, Limit: &badLimit})
			return err
		}, 400, "RF.10011003", "limit: 1001 is not between 1 and 1000"},
		{"ListStacks limit zero", func(id string) error {
			_, err := client.ListStacks(&model.ListStacksRequest{ClientRequestId: id, Limit: &zero})
			return err
		}, 400, "RF.10011003", "limit: 0 is not between 1 and 1000"},
		{"ListStacks marker not from next_marker", func(id string) error {
			_, err := client.ListStacks(&model.ListStacksRequest{ClientRequestId: id, Marker: &badID})
			return err
		}, 400, "RF.10011003", `marker: "not-a-uuid" is not a marker from next_marker`},
		{"CreateStack of an existing name", func(id string) error {
			_, err := client.CreateStack(&model.CreateStackRequest{ClientRequestId: id, Body: &model.CreateStackRequestBody{StackName: "my_first_stack"}})
			return err
		}, 409, "RF.10019001", `stack "my_first_stack" already exists`},
		{"CreateStack of a bad name", func(id string) error {
			_, err := client.CreateStack(&model.CreateStackRequest{ClientRequestId: id, Body: &model.CreateStackRequestBody{StackName: "1st"}})
			return err
		}, 400, "RF.10011003", `stack_name: "1st" must start with a letter and contain only letters, digits, '_' and '-'`},
		{"CreateStack from a template", func(id string) error {
			template := `{"terraform": {}}`
			_, err := client.CreateStack(&model.CreateStackRequest{ClientRequestId: id, Body: &model.CreateStackRequestBody{StackName: "templated", TemplateBody: &template}})
			return err
		}, 400, "RF.10011002", "template_body: is not a known field"},
		{"UpdateStack of an unknown stack", func(id string) error {
			_, err := client.UpdateStack(&model.UpdateStackRequest{ClientRequestId: id, StackName: unknown, Body: &model.UpdateStackRequestBody{Description: &unknown}})
			return err
		}, 404, "RF.10014001", `stack "nope" not found`},
		{"UpdateStack with another stack's stack_id", func(id string) error {
			_, err := client.UpdateStack(&model.UpdateStackRequest{ClientRequestId: id, StackName: "my_first_stack", Body: &model.UpdateStackRequestBody{StackId: &second}})
			return err
		}, 400, "RF.10011003", `stack_id: "` + second + `" is not the id of stack "my_first_stack"`},
		{"GetStackMetadata of an unknown stack", func(id string) error {
			_, err := client.GetStackMetadata(&model.GetStackMetadataRequest{ClientRequestId: id, StackName: unknown})
			return err
		}, 404, "RF.10014001", `stack "nope" not found`},
		{"GetStackMetadata with another stack's stack_id", func(id string) error {
			_, err := client.GetStackMetadata(&model.GetStackMetadataRequest{ClientRequestId: id, StackName: "my_first_stack", StackId: &second})
			return err
		}, 400, "RF.10011003", `stack_id: "` + second + `" is not the id of stack "my_first_stack"`},
		{"ListStackEvents of an unknown stack", func(id string) error {
			_, err := client.ListStackEvents(&model.ListStackEventsRequest{ClientRequestId: id, StackName: unknown})
			return err
		}, 404, "RF.10014001", `stack "nope" not found`},
		{"ListStackEvents with another stack's stack_id", func(id string) error {
			_, err := client.ListStackEvents(&model.ListStackEventsRequest{ClientRequestId: id, StackName: "my_second_stack", StackId: &first})
			return err
		}, 400, "RF.10011003", `stack_id: "` + first + `" is not the id of stack "my_second_stack"`},
		{"ListStackEvents with a stack_id that is no UUID", func(id string) error {
			_, err := client.ListStackEvents(&model.ListStackEventsRequest{ClientRequestId: id, StackName: "my_second_stack", StackId: &badID})
			return err
		}, 400, "RF.10011003", `stack_id: "not-a-uuid" is not a UUID of 36 characters`},
		{"DeleteStack of an unknown stack", func(id string) error {
			_, err := client.DeleteStack(&model.DeleteStackRequest{ClientRequestId: id, StackName: unknown})
			return err
		}, 404, "RF.10014001", `stack "nope" not found`},
		{"DeleteStack with another stack's stack_id", func(id string) error {
			_, err := client.DeleteStack(&model.DeleteStackRequest{ClientRequestId: id, StackName: "my_first_stack", StackId: &second})
			return err
		}, 400, "RF.10011003", `stack_id: "` + second + `" is not the id of stack "my_first_stack"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requestID := uuid.NewString()
			sdkError(t, tt.call(requestID), requestID, tt.status, tt.code, tt.message)
		})
	}

	// A project id the server refuses is refused in the same shape.
	short := newSDKClient(t, server, "ab")
	requestID := uuid.NewString()
	_, err := short.ListStacks(&model.ListStacksRequest{ClientRequestId: requestID})
	sdkError(t, err, requestID, 400, "RF.10011004", `project_id: "ab" is 2 characters long; at least 3 are needed`)
}
