package awsfake

import (
	"encoding/json"
	"fmt"
	"hash/crc32"
	"net/http"
	"sort"
	"strconv"
)

// Item is a DynamoDB item in the wire format: attribute name -> attribute
// value ({"S":"..."}, {"N":"3"}, {"M":{...}}, ...).
type Item map[string]any

// DynamoDB fakes the DynamoDB operations eksguard uses: UpdateItem,
// GetItem, PutItem and DeleteItem, with condition and update expressions
// (SET, REMOVE, ADD; if_not_exists, list_append; comparisons, AND/OR/NOT,
// attribute_exists/attribute_not_exists; map paths). TTL never deletes
// anything, as in real DynamoDB, where expiry is lazy.
type DynamoDB struct {
	server
	tables map[string]map[string]Item // table -> key JSON -> item
}

func newDynamoDB(log *Log) *DynamoDB {
	d := &DynamoDB{tables: map[string]map[string]Item{}}
	d.server = server{service: "dynamodb", log: log, opOf: jsonTarget, writeFn: func(w http.ResponseWriter, f Fault) {
		writeDDB(w, f.Status, map[string]string{"__type": "com.amazonaws.dynamodb.v20120810#" + f.Code, "message": f.Message})
	}}
	d.handle = d.serveOp
	return d
}

const ddbContentType = "application/x-amz-json-1.0"

// Items returns a copy of a table's items, sorted by key.
func (d *DynamoDB) Items(table string) []Item {
	d.mu.Lock()
	defer d.mu.Unlock()
	keys := make([]string, 0, len(d.tables[table]))
	for k := range d.tables[table] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]Item, 0, len(keys))
	for _, k := range keys {
		out = append(out, deepCopy(d.tables[table][k]))
	}
	return out
}

func (d *DynamoDB) reset() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.tables = map[string]map[string]Item{}
}

// Get returns the item whose partition key pk is the string key.
func (d *DynamoDB) Get(table, pk string) (Item, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	it, ok := d.tables[table][keyJSON(Item{"pk": map[string]any{"S": pk}})]
	return deepCopy(it), ok
}

// Put stores an item (its key is the attribute pk).
func (d *DynamoDB) Put(table string, it Item) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.tables[table] == nil {
		d.tables[table] = map[string]Item{}
	}
	d.tables[table][keyJSON(Item{"pk": it["pk"]})] = deepCopy(it)
}

// S and N read string and number attributes of an item ("" when absent).
func (it Item) S(name string) string { return scalar(it[name], "S") }

// N reads a number attribute as its decimal string ("" when absent).
func (it Item) N(name string) string { return scalar(it[name], "N") }

func scalar(v any, typ string) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	s, _ := m[typ].(string)
	return s
}

type ddbRequest struct {
	TableName                           string
	Key                                 Item
	Item                                Item
	UpdateExpression                    string
	ConditionExpression                 string
	ExpressionAttributeNames            map[string]string
	ExpressionAttributeValues           map[string]any
	ReturnValues                        string
	ReturnValuesOnConditionCheckFailure string
}

func (d *DynamoDB) serveOp(w http.ResponseWriter, _ *http.Request, c *Call, body []byte) {
	var in ddbRequest
	if err := json.Unmarshal(body, &in); err != nil {
		d.fail(w, "SerializationException", err.Error())
		return
	}
	if in.TableName == "" {
		d.fail(w, "ValidationException", "TableName is required")
		return
	}
	if d.tables[in.TableName] == nil {
		d.tables[in.TableName] = map[string]Item{}
	}
	table := d.tables[in.TableName]
	key := in.Key
	if c.Op == "PutItem" {
		key = Item{"pk": in.Item["pk"]}
	}
	if len(key) != 1 || key["pk"] == nil {
		d.fail(w, "ValidationException", "the key must be the single attribute pk")
		return
	}
	kj := keyJSON(key)
	old, exists := table[kj]
	ev := &evaluator{names: in.ExpressionAttributeNames, values: in.ExpressionAttributeValues}
	if in.ConditionExpression != "" {
		ok, err := ev.condition(in.ConditionExpression, old)
		if err != nil {
			d.fail(w, "ValidationException", "Invalid ConditionExpression: "+err.Error())
			return
		}
		if !ok {
			out := map[string]any{"__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException", "message": "The conditional request failed"}
			if in.ReturnValuesOnConditionCheckFailure == "ALL_OLD" && exists {
				out["Item"] = old
			}
			writeDDB(w, 400, out)
			return
		}
	}
	switch c.Op {
	case "GetItem":
		out := map[string]any{}
		if exists {
			out["Item"] = old
		}
		writeDDB(w, 200, out)
	case "PutItem":
		table[kj] = deepCopy(in.Item)
		out := map[string]any{}
		if in.ReturnValues == "ALL_OLD" && exists {
			out["Attributes"] = old
		}
		writeDDB(w, 200, out)
	case "DeleteItem":
		delete(table, kj)
		out := map[string]any{}
		if in.ReturnValues == "ALL_OLD" && exists {
			out["Attributes"] = old
		}
		writeDDB(w, 200, out)
	case "UpdateItem":
		item := deepCopy(old)
		if item == nil {
			item = deepCopy(key)
		}
		touched, err := ev.update(in.UpdateExpression, item)
		if err != nil {
			d.fail(w, "ValidationException", "Invalid UpdateExpression: "+err.Error())
			return
		}
		table[kj] = item
		out := map[string]any{}
		switch in.ReturnValues {
		case "ALL_NEW":
			out["Attributes"] = item
		case "ALL_OLD":
			if exists {
				out["Attributes"] = old
			}
		case "UPDATED_NEW":
			attrs := Item{}
			for _, n := range touched {
				if v, ok := item[n]; ok {
					attrs[n] = v
				}
			}
			out["Attributes"] = attrs
		}
		writeDDB(w, 200, out)
	default:
		d.fail(w, "UnknownOperationException", "awsfake: unsupported DynamoDB operation "+c.Op)
	}
}

func (d *DynamoDB) fail(w http.ResponseWriter, code, msg string) {
	writeDDB(w, 400, map[string]string{"__type": "com.amazonaws.dynamodb.v20120810#" + code, "message": msg})
}

// writeDDB writes a DynamoDB response with the X-Amz-Crc32 header the SDK checks.
func writeDDB(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ddbContentType)
	w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(b)), 10))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func keyJSON(key Item) string {
	b, _ := json.Marshal(key)
	return string(b)
}

func deepCopy(it Item) Item {
	if it == nil {
		return nil
	}
	b, err := json.Marshal(it)
	if err != nil {
		panic(fmt.Sprintf("awsfake: copy item: %v", err))
	}
	var out Item
	_ = json.Unmarshal(b, &out)
	return out
}
