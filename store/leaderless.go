package store

import (
	"errors"
	"net/http"
)

// Internal wire types.
type (
	readReq struct {
		Key string `json:"key"`
	}
	readResp struct {
		Record Record `json:"record"`
	}
	writeReq struct {
		Key     string `json:"key"`
		Record  Record `json:"record"`
		HintFor string `json:"hint_for,omitempty"` // store as a hint for this node, not as data
	}
	treeReq struct {
		Inner []int `json:"inner,omitempty"`
	} // empty: root level; else leaves under these inner nodes
	treeResp struct {
		Inner  []uint64       `json:"inner,omitempty"`
		Leaves map[int]uint64 `json:"leaves,omitempty"`
	}
	syncReq struct {
		Leaves  []int             `json:"leaves"`
		Records map[string]Record `json:"records"`
		After   string            `json:"after,omitempty"` // answer the records past this key
	}
	syncResp struct {
		Records map[string]Record `json:"records"`
		Next    string            `json:"next,omitempty"` // more records past this key: ask again
	}
	coordinateReq struct {
		Key     string `json:"key"`
		Value   string `json:"value"`
		Context string `json:"context,omitempty"`
		W       int    `json:"w"`
	}
)

// answerOf maps the error of a call to a peer, or of a local apply, onto the Answer the
// replication decisions take: the HTTP statuses stay here, in the shell.
func answerOf(err error) Answer {
	if err == nil {
		return AnswerOK
	}
	var ke kindError
	if errors.As(err, &ke) {
		return AnswerConflict // a local apply whose record conflicts with the key's kind
	}
	var re *replicaError
	if !errors.As(err, &re) {
		return AnswerLocalFailure
	}
	switch {
	case re.status == http.StatusConflict:
		return AnswerConflict
	case re.status == http.StatusBadRequest, re.status == http.StatusRequestEntityTooLarge,
		re.status == http.StatusUnprocessableEntity:
		return AnswerInvalid
	case re.status >= 500:
		return AnswerServerError
	case re.status != 0:
		return AnswerRejected
	case re.refused:
		return AnswerUnreachable
	}
	return AnswerNoReply
}
